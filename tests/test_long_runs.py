"""Long runs continue as new before their history grows large, losing nothing on the way."""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from tests.conftest import start_segment
from workflows.contract import RESPOND, SEGMENT_WORKFLOW, STATUS_QUERY, TASK_CLOSED

LOOP = {
    "segment_id": "long_loop",
    "steps": [
        {"step_id": "init", "type": "transform", "config": {"expression": "{'n': 0, 'sum': 0}"}},
        {
            "step_id": "add",
            "type": "transform",
            "max_visits": 5000,
            "config": {
                "expression": "( $p := $exists(steps.add.output) ? steps.add.output : steps.init.output;"
                "  {'n': $p.n + 1, 'sum': $p.sum + $p.n + 1} )"
            },
        },
        {
            "step_id": "more",
            "type": "condition",
            "max_visits": 5000,
            "config": {"expression": "steps.add.output.n < input.steps"},
        },
    ],
    "edges": [
        {"source": "init", "target": "add"},
        {"source": "add", "target": "more"},
        {"source": "more", "source_port": "true", "target": "add"},
    ],
    "output": "{% steps.add.output %}",
}


async def _chain(client: Client, handle: WorkflowHandle[Any, Any]) -> list[int]:
    """The event count of each run of a workflow id, following continue-as-new from the first."""
    run_id = (await handle.describe()).raw_description.workflow_execution_info.first_run_id
    counts = []
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        counts.append(len(history.events))
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else ""
        )
    return counts


async def test_a_3000_step_loop_completes_with_the_same_result_as_without_continue_as_new(
    client: Client, worker: str
) -> None:
    steps = 1_000  # 1,000 turns of add + more, plus init: 2,001 step visits
    never = {"continue_as_new_after_steps": 1_000_000, "continue_as_new_after_events": 1_000_000}
    plain = await client.start_workflow(
        "SegmentWorkflow",
        {"segment": LOOP, "input": {"steps": steps}, "options": never},
        id=f"plain-{time.time_ns()}",
        task_queue=worker,
    )
    plain_result = await plain.result()
    assert plain_result == {"n": steps, "sum": steps * (steps + 1) // 2}
    assert len(await _chain(client, plain)) == 1

    request = {"segment": LOOP, "input": {"steps": steps}, "options": {"continue_as_new_after_steps": 300}}
    chained = await client.start_workflow(
        "SegmentWorkflow", request, id=f"chained-{time.time_ns()}", task_queue=worker
    )
    assert await chained.result() == plain_result
    counts = await _chain(client, chained)
    assert len(counts) > 2, f"expected several continue-as-new runs, got {counts}"
    assert max(counts) < 500
    status = await chained.query("status")
    assert status["steps_done_total"] == 2 * steps + 1


async def test_3000_steps_keep_every_history_under_the_limit(client: Client, worker: str) -> None:
    steps = 1_500  # 3,001 step visits with the default bound
    handle = await start_segment(client, worker, LOOP, {"steps": steps})
    assert await handle.result() == {"n": steps, "sum": steps * (steps + 1) // 2}
    counts = await _chain(client, handle)
    assert max(counts) < 10_240
    assert sum(counts) > 0


COLLECT = {
    "segment_id": "collect_answers",
    "entrypoint": "ask",
    "steps": [
        {
            "step_id": "ask",
            "type": "human_task",
            "max_visits": 200,
            "config": {
                "kind": "input",
                "title": "Value {% $count(steps.collect.output) + 1 %}",
                "input_schema": {
                    "type": "object",
                    "required": ["value"],
                    "properties": {"value": {"type": "integer"}},
                },
            },
        },
        {
            "step_id": "collect",
            "type": "transform",
            "max_visits": 200,
            "config": {
                "expression": "$append($exists(steps.collect.output) ? steps.collect.output : [],"
                " steps.ask.output.data.value)"
            },
        },
        {
            "step_id": "more",
            "type": "condition",
            "max_visits": 200,
            "config": {"expression": "$count(steps.collect.output) < input.answers"},
        },
    ],
    "edges": [
        {"source": "ask", "target": "collect"},
        {"source": "collect", "target": "more"},
        {"source": "more", "source_port": "true", "target": "ask"},
    ],
    "output": "{% steps.collect.output %}",
}


async def _answer(handle: WorkflowHandle[Any, Any], task_id: str, value: int) -> None:
    """Send one answer by the `respond` update, retrying while its task has not opened yet or the
    run is switching to its next history."""
    deadline = time.monotonic() + 30
    while True:
        try:
            await handle.execute_update(
                "respond", {"task_id": task_id, "responder": "ops", "data": {"value": value}}
            )
            return
        except (WorkflowUpdateFailedError, RPCError) as err:
            if time.monotonic() > deadline:
                raise AssertionError(f"{task_id} never accepted: {err}") from err
            await asyncio.sleep(0.05)


async def test_100_updates_across_continue_as_new_are_each_applied_once(client: Client, worker: str) -> None:
    request = {"segment": COLLECT, "input": {"answers": 100}, "options": {"continue_as_new_after_steps": 30}}
    handle = await client.start_workflow(
        "SegmentWorkflow", request, id=f"collect-{time.time_ns()}", task_queue=worker
    )
    for value in range(1, 101):
        await _answer(handle, "ask" if value == 1 else f"ask#{value}", value)
    assert await handle.result() == list(range(1, 101))
    assert len(await _chain(client, handle)) > 3


async def test_a_path_that_ended_before_continue_as_new_is_in_the_result(client: Client, worker: str) -> None:
    """Without `output`, the result is every ending step's output, also from earlier runs of the chain."""
    segment = {
        "segment_id": "two_paths",
        "steps": [
            {"step_id": "start", "type": "transform", "config": {"expression": "0"}},
            {"step_id": "quick", "type": "transform", "config": {"expression": "'quick path done'"}},
            *LOOP["steps"],
        ],
        "edges": [
            {"source": "start", "target": "quick"},
            {"source": "start", "target": "init"},
            *LOOP["edges"],
        ],
    }
    request = {"segment": segment, "input": {"steps": 30}, "options": {"continue_as_new_after_steps": 20}}
    handle = await client.start_workflow(
        "SegmentWorkflow", request, id=f"paths-{time.time_ns()}", task_queue=worker
    )
    assert await handle.result() == {"quick": "quick path done", "more": False}
    assert len(await _chain(client, handle)) > 1


def _collect(answers: int) -> dict[str, Any]:
    """COLLECT for `answers` values, switching to a new history every 20 step visits (~7 answers)."""
    return {"segment": COLLECT, "input": {"answers": answers}, "options": {"continue_as_new_after_steps": 20}}


async def _status_when(
    handle: WorkflowHandle[Any, Any], ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        try:
            status: dict[str, Any] = await handle.query(STATUS_QUERY)
            if ready(status):
                return status
        except RPCError:
            pass  # between two runs of the chain
        if time.monotonic() > deadline:
            raise AssertionError("the run never reached the expected state")
        await asyncio.sleep(0.1)


async def test_closed_tasks_and_refusals_survive_continue_as_new(client: Client, worker: str) -> None:
    """A late answer to a task closed in an earlier run is still refused as closed, by signal and by
    update; the earlier refusals are still listed."""
    handle = await client.start_workflow(
        SEGMENT_WORKFLOW, _collect(12), id=f"closed-{time.time_ns()}", task_queue=worker
    )
    await _answer(handle, "ask", 1)
    await handle.signal(RESPOND, {"task_id": "ask", "responder": "ops", "data": {"value": 99}})
    await _status_when(handle, lambda s: len(s["refused_signals"]) == 1)
    for value in range(2, 11):
        await _answer(handle, f"ask#{value}", value)
    assert len(await _chain(client, handle)) > 1  # the first `ask` closed in an earlier run

    status = await _status_when(handle, lambda s: bool(s["open_tasks"]))
    assert "ask" in [t["task_id"] for t in status["closed_tasks"]]
    assert "already closed" in status["refused_signals"][0]["reason"]
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await handle.execute_update(RESPOND, {"task_id": "ask", "responder": "ops", "data": {"value": 1}})
    assert isinstance(late.value.cause, ApplicationError) and late.value.cause.type == TASK_CLOSED
    await handle.signal(RESPOND, {"task_id": "ask", "responder": "ops", "data": {"value": 98}})
    status = await _status_when(handle, lambda s: len(s["refused_signals"]) == 2)
    assert "already closed (answered by ops" in status["refused_signals"][1]["reason"]
    assert status["pending_responses"] == []
    for value in (11, 12):
        await _answer(handle, f"ask#{value}", value)
    assert await asyncio.wait_for(handle.result(), 30) == list(range(1, 13))


async def test_answers_sent_before_their_task_opens_survive_continue_as_new(
    client: Client, worker: str
) -> None:
    """Every answer is signalled at once; most wait for a task that opens only in a later run."""
    handle = await client.start_workflow(
        SEGMENT_WORKFLOW, _collect(12), id=f"early-{time.time_ns()}", task_queue=worker
    )
    for value in range(1, 13):
        task_id = "ask" if value == 1 else f"ask#{value}"
        await handle.signal(RESPOND, {"task_id": task_id, "responder": "ops", "data": {"value": value}})
    assert await asyncio.wait_for(handle.result(), 60) == list(range(1, 13))
    assert len(await _chain(client, handle)) > 1
