"""Record the histories of real runs into tests/histories/ for the replay tests.

    python -m tests.record_histories            # all scenarios
    python -m tests.record_histories pricing    # those whose name contains 'pricing'

Record again only on purpose: the point of the corpus is that histories recorded by an older
interpreter keep replaying on the new one. Add a scenario for each new step type or feature.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.temporal_binaries import find_binary
from worker import running_worker
from workflows.search_attributes import ALL_KEYS

HISTORIES = Path(__file__).parent / "histories"
EXAMPLES = Path(__file__).parent.parent / "examples"
TASK_QUEUE = "record-histories"

Scenario = Callable[[Client], Awaitable[WorkflowHandle[Any, Any]]]


async def _start(
    client: Client, name: str, segment: dict[str, Any], run_input: Any = None
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        "SegmentWorkflow",
        {"segment": segment, "input": run_input or {}},
        id=f"replay-{name}",
        task_queue=TASK_QUEUE,
    )


def _example(name: str) -> tuple[dict[str, Any], Any]:
    definition = json.loads((EXAMPLES / f"{name}.json").read_text())
    input_path = EXAMPLES / f"{name}.input.json"
    return definition, json.loads(input_path.read_text()) if input_path.exists() else {}


async def pricing_loop(client: Client) -> WorkflowHandle[Any, Any]:
    handle = await _start(client, "pricing_loop", *_example("pricing_loop"))
    await handle.result()
    return handle


async def routed_error(client: Client) -> WorkflowHandle[Any, Any]:
    segment = {
        "segment_id": "routed_error",
        "steps": [
            {
                "step_id": "risky",
                "type": "transform",
                "config": {"expression": "$error('no')"},
                "on_error": "route",
            },
            {
                "step_id": "fallback",
                "type": "transform",
                "config": {"expression": "steps.risky.output.error"},
            },
        ],
        "edges": [{"source": "risky", "source_port": "error", "target": "fallback"}],
        "output": "{% steps.fallback.output.message %} at {% $now() %}",
    }
    handle = await _start(client, "routed_error", segment)
    await handle.result()
    return handle


async def invalid_segment(client: Client) -> WorkflowHandle[Any, Any]:
    definition = json.loads((Path(__file__).parent / "invalid" / "five_mistakes.json").read_text())
    handle = await _start(client, "invalid_segment", definition)
    with contextlib.suppress(Exception):
        await handle.result()
    return handle


async def paused_and_resumed(client: Client) -> WorkflowHandle[Any, Any]:
    segment = {
        "segment_id": "paused",
        "steps": [
            {"step_id": "a", "type": "transform", "config": {"expression": "$random() < 1"}},
            {"step_id": "b", "type": "condition", "config": {"expression": "steps.a.output"}},
        ],
        "edges": [{"source": "a", "target": "b"}],
    }
    handle = await _start(client, "paused_and_resumed", segment)
    await handle.signal("pause")
    await handle.signal("resume")
    await handle.result()
    return handle


SCENARIOS: dict[str, Scenario] = {
    "pricing_loop": pricing_loop,
    "routed_error": routed_error,
    "invalid_segment": invalid_segment,
    "paused_and_resumed": paused_and_resumed,
}


async def record(selected: list[str]) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"), search_attributes=ALL_KEYS
    )
    try:
        async with running_worker(env.client, TASK_QUEUE):
            for name, scenario in SCENARIOS.items():
                if selected and not any(s in name for s in selected):
                    continue
                handle = await scenario(env.client)
                history = await handle.fetch_history()
                (HISTORIES / f"{name}.json").write_text(json.dumps(history.to_json_dict(), indent=1) + "\n")
                print(f"recorded {name}: {len(history.events)} events")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
