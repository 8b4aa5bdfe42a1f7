"""SegmentWorkflow on a real Temporal dev server: routing, loops, errors, status, search attributes."""

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from tests.conftest import start_segment
from worker import build_components, running_worker
from workflows.search_attributes import SEGMENT_ID, SEGMENT_PHASE, TENANT_ID

INVALID = Path(__file__).parent / "invalid"


def transform(step_id: str, expression: str, **extra: Any) -> dict[str, Any]:
    return {"step_id": step_id, "type": "transform", "config": {"expression": expression}, **extra}


def condition(step_id: str, expression: str, **extra: Any) -> dict[str, Any]:
    return {"step_id": step_id, "type": "condition", "config": {"expression": expression}, **extra}


def edge(source: str, target: str, port: str = "out") -> dict[str, str]:
    return {"source": source, "target": target, "source_port": port}


async def failure_of(handle: Any) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_condition_routes_by_port(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "routing",
        "steps": [
            condition("big", "input.total > 1000"),
            transform("approve", "'needs approval'"),
            transform("place", "'placed'"),
        ],
        "edges": [edge("big", "approve", "true"), edge("big", "place", "false")],
    }
    assert await (await start_segment(client, worker, segment, {"total": 5000})).result() == {
        "approve": "needs approval"
    }
    assert await (await start_segment(client, worker, segment, {"total": 5})).result() == {"place": "placed"}


async def test_paths_fan_out_and_each_ending_step_is_in_the_result(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "fan",
        "steps": [
            transform("a", "input.x"),
            transform("b", "steps.a.output + 1"),
            transform("c", "steps.a.output * 10"),
        ],
        "edges": [edge("a", "b"), edge("a", "c")],
    }
    assert await (await start_segment(client, worker, segment, {"x": 4})).result() == {"b": 5, "c": 40}


async def test_a_loop_past_max_visits_fails_clearly(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "endless",
        "steps": [transform("start", "0"), transform("again", "1", max_visits=3)],
        "edges": [edge("start", "again"), edge("again", "again")],
    }
    error = await failure_of(await start_segment(client, worker, segment))
    assert "step 'again' (transform) failed" in error.message
    assert "past its max_visits of 3" in error.message
    assert error.non_retryable


async def test_on_error_route_sends_the_error_down_the_error_port(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "routed_error",
        "steps": [
            transform("risky", "$error('inventory service said no')", on_error="route"),
            transform("fallback", "'fallback: ' & steps.risky.output.error.message"),
        ],
        "edges": [edge("risky", "fallback", "error")],
    }
    result = await (await start_segment(client, worker, segment)).result()
    assert result == {"fallback": "fallback: expression: inventory service said no"}


async def test_a_failing_step_fails_the_run_naming_the_step(client: Client, worker: str) -> None:
    segment = {"segment_id": "fails", "steps": [transform("boom", "$error('bad data')")], "edges": []}
    error = await failure_of(await start_segment(client, worker, segment))
    assert error.type == "StepFailed"
    assert error.message == "step 'boom' (transform) failed: expression: bad data"


async def test_an_invalid_definition_fails_at_once_with_every_problem(client: Client, worker: str) -> None:
    definition = json.loads((INVALID / "five_mistakes.json").read_text())
    started = time.monotonic()
    handle = await start_segment(client, worker, definition)
    error = await failure_of(handle)
    assert time.monotonic() - started < 10
    assert error.type == "InvalidSegment" and error.non_retryable
    problems = error.details[0]
    assert len(problems) == 5
    assert {p["path"] for p in problems} == {
        "steps[0].config.expression",
        "steps[1].config.expression",
        "steps[2].type",
        "steps[3].timeout",
        "edges[1].source_port",
    }
    description = await handle.describe()
    assert description.typed_search_attributes.get(SEGMENT_PHASE) == "failed"


async def test_input_is_checked_against_input_schema(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "typed",
        "input_schema": {"type": "object", "required": ["order"]},
        "steps": [transform("a", "input.order")],
        "edges": [],
    }
    error = await failure_of(await start_segment(client, worker, segment, {"ordr": 1}))
    assert error.type == "InvalidInput"
    assert "input.order: is required but missing" in error.message


async def test_output_expression_and_run_data(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "out",
        "steps": [transform("a", "{'seg': run.segment_id, 'tenant': run.tenant_id}")],
        "edges": [],
        "output": {"summary": "{% steps.a.output.seg %} for {% steps.a.output.tenant %}"},
    }
    handle = await start_segment(client, worker, segment, tenant_id="acme")
    assert await handle.result() == {"summary": "out for acme"}
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(SEGMENT_ID) == "out"
    assert attributes.get(TENANT_ID) == "acme"
    assert attributes.get(SEGMENT_PHASE) == "completed"


async def test_retry_policy_is_bounded_and_applied(client: Client) -> None:
    """A function step that fails twice then succeeds: `retry.max_attempts: 3` lets it through."""
    attempts: list[int] = []

    class Empty(BaseModel):
        pass

    def flaky(config: Empty, step: Any) -> str:
        attempts.append(step.visit)
        if len(attempts) < 3:
            raise RuntimeError("temporarily down")
        return "ok"

    components = build_components(plugins=[])
    components.registry.add_function_step("flaky", flaky, Empty)
    queue = f"retry-{uuid.uuid4().hex[:6]}"
    step = {"step_id": "f", "type": "flaky", "retry": {"max_attempts": 3, "initial_interval": "PT0.1S"}}
    async with running_worker(client, queue, components, activity_executor=_executor()):
        handle = await start_segment(client, queue, {"segment_id": "retry", "steps": [step], "edges": []})
        assert await handle.result() == {"f": "ok"}
        assert len(attempts) == 3
        attempts.clear()
        step["retry"] = {"max_attempts": 2, "initial_interval": "PT0.1S"}
        error = await failure_of(
            await start_segment(client, queue, {"segment_id": "retry", "steps": [step], "edges": []})
        )
        assert "temporarily down" in error.message
        assert len(attempts) == 2


def _executor() -> Any:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=4)


async def test_status_pause_and_resume(client: Client) -> None:
    """A paused run starts no new step; `status` says paused; resume lets it finish."""
    release = asyncio.Event()

    class Empty(BaseModel):
        pass

    async def slow(config: Empty, step: Any) -> str:
        await release.wait()
        return "slow done"

    components = build_components(plugins=[])
    components.registry.add_function_step("slow", slow, Empty)
    queue = f"pause-{uuid.uuid4().hex[:6]}"
    segment = {
        "segment_id": "pausing",
        "steps": [{"step_id": "s", "type": "slow"}, transform("after", "'after'")],
        "edges": [edge("s", "after")],
    }
    async with running_worker(client, queue, components):
        handle = await start_segment(client, queue, segment)
        status = await _wait_for(handle, lambda s: s["steps_running"])
        assert status["steps_running"][0]["step_id"] == "s"
        assert status["steps_pending"] == ["after"]
        await handle.signal("pause")
        status = await _wait_for(handle, lambda s: s["phase"] == "paused")
        release.set()
        status = await _wait_for(handle, lambda s: [d["step_id"] for d in s["steps_done"]] == ["s"])
        await asyncio.sleep(0.5)
        status = await handle.query("status")
        assert status["phase"] == "paused" and status["steps_pending"] == ["after"]
        assert (await handle.describe()).typed_search_attributes.get(SEGMENT_PHASE) == "paused"
        await handle.signal("resume")
        assert await handle.result() == {"after": "after"}


async def _wait_for(handle: Any, predicate: Any, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = await handle.query("status")
        if predicate(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"status never matched: {status}")
        await asyncio.sleep(0.1)


async def test_env_values_are_captured_once_per_run(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMENTS_ENV_REGION", "eu-west")
    monkeypatch.setenv("SEGMENTS_SECRET_NOT_VISIBLE", "hunter2")
    queue = f"env-{uuid.uuid4().hex[:6]}"
    segment = {"segment_id": "env", "steps": [transform("a", "[$env.REGION, $env.NOT_VISIBLE]")], "edges": []}
    async with running_worker(client, queue, build_components(plugins=[])):
        handle = await start_segment(client, queue, segment)
        assert await handle.result() == {"a": ["eu-west"]}
        history = json.dumps((await handle.fetch_history()).to_json_dict())
        assert "hunter2" not in history


async def test_a_run_pinned_by_the_client_records_no_patch_marker(client: Client, worker: str) -> None:
    from client.api import SegmentsClient
    from segments.hashing import definition_hash

    segment = {"segment_id": "pinned", "version": "2.1", "steps": [transform("a", "1")], "edges": []}
    handle = await SegmentsClient(client, worker).start(segment)
    assert await handle.result() == {"a": 1}
    memo = await (await handle.describe()).memo()
    assert memo == {"segment_hash": definition_hash(segment), "segment_version": "2.1"}
    history = json.dumps((await handle.fetch_history()).to_json_dict())
    assert "core_patch" not in history and "TemporalChangeVersion" not in history
