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
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from examples.standins import serve_standins
from tests.temporal_binaries import find_binary
from worker import build_components, running_worker
from workflows.search_attributes import ALL_KEYS

HISTORIES = Path(__file__).parent / "histories"
EXAMPLES = Path(__file__).parent.parent / "examples"
CORPUS = Path(__file__).parent / "llmteam_corpus"
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


async def _wait_open_task(handle: WorkflowHandle[Any, Any], count: int = 1) -> None:
    for _ in range(200):
        status = await handle.query("status")
        if len(status["open_tasks"]) >= count:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{handle.id}: no open task")


async def support_ticket(client: Client) -> WorkflowHandle[Any, Any]:
    handle = await _start(client, "support_ticket", *_example("support_ticket"))
    await handle.result()
    return handle


async def order_approved(client: Client) -> WorkflowHandle[Any, Any]:
    handle = await _start(client, "order_approved", *_example("order_processing"))
    await _wait_open_task(handle)
    await handle.execute_update(
        "respond", {"task_id": "approve", "responder": "finance-anna", "decision": "approve"}
    )
    await handle.result()
    return handle


async def order_rejected_by_signal(client: Client) -> WorkflowHandle[Any, Any]:
    handle = await _start(client, "order_rejected_by_signal", *_example("order_processing"))
    await _wait_open_task(handle)
    await handle.signal("respond", {"task_id": "approve", "responder": "eve", "decision": "approve"})
    await handle.signal("respond", {"task_id": "approve", "responder": "finance-ben", "decision": "reject"})
    await handle.result()
    return handle


async def enrich_items_map(client: Client) -> WorkflowHandle[Any, Any]:
    handle = await _start(client, "enrich_items_map", *_example("enrich_items"))
    await handle.result()
    return handle


async def batched_map(client: Client) -> WorkflowHandle[Any, Any]:
    """A map in batches of two (patch `map-batches`), one item failing under `collect`."""
    segment = {
        "segment_id": "batched_map",
        "steps": [
            {
                "step_id": "split",
                "type": "parallel_split",
                "config": {"items": "input.items", "batch_size": 2},
            },
            {
                "step_id": "check",
                "type": "transform",
                "config": {"expression": "item = 3 ? $error('bad') : item * 10"},
            },
            {"step_id": "join", "type": "parallel_join", "config": {"on_branch_error": "collect"}},
        ],
        "edges": [{"source": "split", "target": "check"}, {"source": "check", "target": "join"}],
        "output": "{% steps.join.output %}",
    }
    handle = await _start(client, "batched_map", segment, {"items": [1, 2, 3, 4, 5]})
    await handle.result()
    return handle


async def branch_tasks(client: Client) -> WorkflowHandle[Any, Any]:
    from tests.test_branch_tasks import DOCS, REVIEW_EACH

    handle = await _start(client, "branch_tasks", REVIEW_EACH, DOCS)
    await _wait_open_task(handle, 2)
    await handle.execute_update(
        "respond", {"task_id": "review[0]/review", "responder": "ann", "decision": "approve"}
    )
    await handle.signal("respond", {"task_id": "review[1]/review", "responder": "bob", "decision": "reject"})
    await handle.result()
    return handle


async def continued_as_new(client: Client) -> WorkflowHandle[Any, Any]:
    from tests.test_long_runs import LOOP

    handle = await client.start_workflow(
        "SegmentWorkflow",
        {"segment": LOOP, "input": {"steps": 40}, "options": {"continue_as_new_after_steps": 30}},
        id="replay-continued_as_new",
        task_queue=TASK_QUEUE,
    )
    await handle.result()
    return handle


async def pinned_by_client(client: Client) -> WorkflowHandle[Any, Any]:
    """Started the way SegmentsClient starts runs: memo and search attributes set at start."""
    from client.api import SegmentsClient

    definition, run_input = _example("pricing_loop")
    handle = await SegmentsClient(client, TASK_QUEUE).start(
        definition, run_input, run_id="replay-pinned_by_client"
    )
    await handle.result()
    return handle


async def pinned_by_workflow(client: Client) -> WorkflowHandle[Any, Any]:
    """Started by a client that sets no memo: the workflow pins the definition itself (patched)."""
    handle = await _start(client, "pinned_by_workflow", *_example("pricing_loop"))
    await handle.result()
    return handle


async def switch_prev(client: Client) -> WorkflowHandle[Any, Any]:
    """A switch routing by `equals` and `when`, and steps reading `prev`/`prev_step` (patched)."""
    segment = {
        "segment_id": "switch_prev",
        "steps": [
            {"step_id": "kind", "type": "transform", "config": {"expression": "{% prev.kind %}"}},
            {
                "step_id": "route",
                "type": "switch",
                "config": {
                    "value": "{% prev %}",
                    "cases": [{"port": "a", "equals": "a"}, {"port": "big", "when": "input.total > 10"}],
                },
            },
            {
                "step_id": "big",
                "type": "transform",
                "config": {"expression": "{'via': prev_step, 'got': prev}"},
            },
        ],
        "edges": [
            {"source": "kind", "target": "route"},
            {"source": "route", "source_port": "big", "target": "big"},
        ],
    }
    handle = await _start(client, "switch_prev", segment, {"kind": "b", "total": 20})
    await handle.result()
    return handle


STORED_DEFINITIONS: dict[str, dict[str, Any]] = {
    "credit_check": {
        "segment_id": "credit_check",
        "version": "1",
        "steps": [
            {
                "step_id": "approve",
                "type": "human_task",
                "config": {
                    "kind": "approval",
                    "title": "Credit for {% input.customer %}",
                    "assignee": "risk",
                },
            },
            {
                "step_id": "done",
                "type": "transform",
                "config": {"expression": "steps.approve.output.decision"},
            },
        ],
        "edges": [{"source": "approve", "source_port": "approved", "target": "done"}],
    }
}
"""Definitions in the worker's store (SEGMENTS_DEFINITIONS_DIR) while recording: `<id>/<version>.json`."""


async def subworkflow_task(client: Client) -> WorkflowHandle[Any, Any]:
    """A subworkflow whose child opens a human task, answered through the root."""
    segment = {
        "segment_id": "order_with_credit",
        "steps": [
            {
                "step_id": "check",
                "type": "subworkflow",
                "config": {
                    "segment_ref": {"segment_id": "credit_check", "version": "1"},
                    "input": {"customer": "{% input.name %}"},
                },
            },
            {"step_id": "after", "type": "transform", "config": {"expression": "prev"}},
        ],
        "edges": [{"source": "check", "target": "after"}],
    }
    handle = await _start(client, "subworkflow_task", segment, {"name": "ACME"})
    await _wait_open_task(handle)
    await handle.signal("respond", {"task_id": "check/approve", "responder": "risk", "decision": "approve"})
    await handle.result()
    return handle


async def llmteam_imported_by_workflow(client: Client) -> WorkflowHandle[Any, Any]:
    """A raw llmteam export as `segment`: the workflow translates it itself (patched)."""
    export = json.loads((CORPUS / "v2.0" / "condition.json").read_text())
    handle = await _start(client, "llmteam_imported_by_workflow", export, {"amount": 500})
    await handle.result()
    return handle


SCENARIOS: dict[str, Scenario] = {
    "pricing_loop": pricing_loop,
    "routed_error": routed_error,
    "invalid_segment": invalid_segment,
    "paused_and_resumed": paused_and_resumed,
    "support_ticket": support_ticket,
    "order_approved": order_approved,
    "order_rejected_by_signal": order_rejected_by_signal,
    "enrich_items_map": enrich_items_map,
    "branch_tasks": branch_tasks,
    "batched_map": batched_map,
    "continued_as_new": continued_as_new,
    "pinned_by_client": pinned_by_client,
    "pinned_by_workflow": pinned_by_workflow,
    "llmteam_imported_by_workflow": llmteam_imported_by_workflow,
    "switch_prev": switch_prev,
    "subworkflow_task": subworkflow_task,
}


async def _histories(client: Client, handle: WorkflowHandle[Any, Any]) -> list[tuple[str, Any]]:
    """Every history a scenario made: each run of a continue-as-new chain, and each branch child."""
    found: list[tuple[str, Any]] = []
    run_id = (await handle.describe()).raw_description.workflow_execution_info.first_run_id
    part = 0
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        found.append((f"run{part}" if part else "", history))
        part += 1
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if (last.HasField("workflow_execution_continued_as_new_event_attributes"))
            else ""
        )
    for _, history in list(found):
        for event in history.events:
            if event.HasField("child_workflow_execution_started_event_attributes"):
                child = event.child_workflow_execution_started_event_attributes.workflow_execution
                child_history = await client.get_workflow_handle(
                    child.workflow_id, run_id=child.run_id
                ).fetch_history()
                found.append((child.workflow_id.split("/", 1)[1].replace("/", "_"), child_history))
    return found


async def record(selected: list[str]) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"), search_attributes=ALL_KEYS
    )
    try:
        async with serve_standins(openai_port=0, api_port=0) as standins:
            os.environ.update(standins.env())  # read by the worker's activities as it is built
            store = Path(tempfile.mkdtemp(prefix="segments-definitions-"))
            for segment_id, definition in STORED_DEFINITIONS.items():
                (store / segment_id).mkdir()
                (store / segment_id / f"{definition['version']}.json").write_text(json.dumps(definition))
            os.environ["SEGMENTS_DEFINITIONS_DIR"] = str(store)
            async with running_worker(env.client, TASK_QUEUE, build_components(plugins=[])):
                for name, scenario in SCENARIOS.items():
                    if selected and not any(s in name for s in selected):
                        continue
                    handle = await scenario(env.client)
                    for suffix, history in await _histories(env.client, handle):
                        stem = f"{name}__{suffix}" if suffix else name
                        (HISTORIES / f"{stem}.json").write_text(
                            json.dumps(history.to_json_dict(), indent=1) + "\n"
                        )
                        print(f"recorded {stem}: {len(history.events)} events")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
