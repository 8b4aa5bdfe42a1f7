"""Human tasks on a real Temporal dev server: answers, refusals, status, pause and cancel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from tests.conftest import start_segment
from workflows.search_attributes import SEGMENT_PHASE


def task_segment(config: dict[str, Any], ports: list[str]) -> dict[str, Any]:
    """One human task `ask`; each port leads to a transform `on_<port>` that reports it."""
    steps: list[dict[str, Any]] = [{"step_id": "ask", "type": "human_task", "config": config}]
    edges = []
    for port in ports:
        steps.append({"step_id": f"on_{port}", "type": "transform", "config": {"expression": f"'{port}'"}})
        edges.append({"source": "ask", "source_port": port, "target": f"on_{port}"})
    return {"segment_id": "ht", "steps": steps, "edges": edges, "output": "{% {'task': steps.ask.output} %}"}


APPROVAL = {"kind": "approval", "title": "Approve order {% input.id %}", "assignee": "alice"}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def open_tasks(handle: WorkflowHandle[Any, Any]) -> list[dict[str, Any]]:
    status = await handle.query("status")
    return list(status["open_tasks"])


async def wait_open(handle: WorkflowHandle[Any, Any], count: int = 1) -> list[dict[str, Any]]:
    async def ready() -> bool:
        return len(await open_tasks(handle)) >= count

    await eventually(ready)
    return await open_tasks(handle)


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    return len((await handle.fetch_history()).events)


async def refused(handle: WorkflowHandle[Any, Any], payload: dict[str, Any]) -> str:
    """Sends the update, expects a refusal; returns its reason and checks history is untouched."""
    before = await history_length(handle)
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update("respond", payload)
    assert await history_length(handle) == before
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


async def test_approval_approved_takes_the_approved_port(client: Client, worker: str) -> None:
    handle = await start_segment(
        client, worker, task_segment(APPROVAL, ["approved", "rejected", "timeout"]), {"id": "A-7"}
    )
    [task] = await wait_open(handle)
    assert task["task_id"] == "ask" and task["title"] == "Approve order A-7" and task["assignee"] == "alice"
    status = await handle.query("status")
    assert status["phase"] == "waiting_human"
    described = await handle.describe()
    assert described.typed_search_attributes.get(SEGMENT_PHASE) == "waiting_human"
    answer = await handle.execute_update(
        "respond", {"task_id": "ask", "responder": "alice", "decision": "approve", "comment": "ok"}
    )
    assert answer["decision"] == "approve" and answer["responder"] == "alice"
    result = await handle.result()
    assert result["task"]["decision"] == "approve" and result["task"]["comment"] == "ok"
    status = await handle.query("status")
    assert [r["step_id"] for r in status["steps_done"]] == ["ask", "on_approved"]
    assert status["open_tasks"] == [] and status["closed_tasks"][0]["status"] == "answered"


async def test_approval_rejected_by_signal_takes_the_rejected_port(client: Client, worker: str) -> None:
    handle = await start_segment(client, worker, task_segment(APPROVAL, ["approved", "rejected"]), {"id": 1})
    await wait_open(handle)
    await handle.signal("respond", {"task_id": "ask", "responder": "alice", "decision": "reject"})
    await handle.result()
    status = await handle.query("status")
    assert [r["step_id"] for r in status["steps_done"]] == ["ask", "on_rejected"]


async def test_choice_routes_by_option(client: Client, worker: str) -> None:
    config = {
        "kind": "choice",
        "title": "Ship how?",
        "assignee_group": ["bob", "carol"],
        "options": [{"id": "air", "label": "By air"}, {"id": "sea", "label": "By sea"}],
    }
    handle = await start_segment(client, worker, task_segment(config, ["air", "sea"]))
    [task] = await wait_open(handle)
    assert task["options"] == config["options"] and task["assignee_group"] == ["bob", "carol"]
    reason = await refused(handle, {"task_id": "ask", "responder": "carol", "option": "rail"})
    assert "'option' must be one of air, sea, not 'rail'" in reason
    await handle.execute_update("respond", {"task_id": "ask", "responder": "carol", "option": "sea"})
    result = await handle.result()
    assert result["task"]["option"] == "sea"
    status = await handle.query("status")
    assert status["steps_done"][-1]["step_id"] == "on_sea"


async def test_input_checks_data_against_the_schema(client: Client, worker: str) -> None:
    schema = {
        "type": "object",
        "required": ["discount"],
        "properties": {"discount": {"type": "number", "maximum": 30}},
    }
    config = {"kind": "input", "title": "Discount?", "assignee": "dana", "input_schema": schema}
    handle = await start_segment(client, worker, task_segment(config, ["out"]))
    await wait_open(handle)
    reason = await refused(handle, {"task_id": "ask", "responder": "dana", "data": {"discount": 50}})
    assert "input_schema" in reason and "discount" in reason
    reason = await refused(handle, {"task_id": "ask", "responder": "dana", "data": "ten"})
    assert "JSON object" in reason
    await handle.execute_update("respond", {"task_id": "ask", "responder": "dana", "data": {"discount": 10}})
    assert (await handle.result())["task"]["data"] == {"discount": 10}


async def test_review_needs_no_decision(client: Client, worker: str) -> None:
    config = {"kind": "review", "title": "Read the contract", "assignee": "erin"}
    handle = await start_segment(client, worker, task_segment(config, ["out"]))
    await wait_open(handle)
    await handle.execute_update("respond", {"task_id": "ask", "responder": "erin", "comment": "read"})
    result = await handle.result()
    assert result["task"]["comment"] == "read" and result["task"]["responder"] == "erin"


async def test_update_refusals_leave_history_untouched(client: Client, worker: str) -> None:
    handle = await start_segment(client, worker, task_segment(APPROVAL, ["approved", "rejected"]), {"id": 2})
    await wait_open(handle)
    assert "no task 'nope'" in await refused(
        handle, {"task_id": "nope", "responder": "alice", "decision": "approve"}
    )
    assert "may not answer" in await refused(
        handle, {"task_id": "ask", "responder": "mallory", "decision": "approve"}
    )
    assert "'responder' is required" in await refused(handle, {"task_id": "ask", "decision": "approve"})
    assert "'decision' must be" in await refused(handle, {"task_id": "ask", "responder": "alice"})
    assert "'decision' must be" in await refused(
        handle, {"task_id": "ask", "responder": "alice", "decision": "maybe"}
    )
    assert "JSON object" in await refused(handle, "approve")  # type: ignore[arg-type]
    await handle.execute_update("respond", {"task_id": "ask", "responder": "alice", "decision": "reject"})
    assert (await handle.result())["task"]["decision"] == "reject"


async def test_second_answer_is_refused_while_the_run_goes_on(client: Client, worker: str) -> None:
    segment = task_segment(APPROVAL, ["approved"])
    segment["steps"].append(
        {
            "step_id": "second",
            "type": "human_task",
            "config": {"kind": "review", "title": "Then this", "assignee": "alice"},
        }
    )
    segment["edges"].append({"source": "on_approved", "target": "second"})
    handle = await start_segment(client, worker, segment, {"id": 3})
    await wait_open(handle)
    await handle.execute_update("respond", {"task_id": "ask", "responder": "alice", "decision": "approve"})
    [task] = await wait_open(handle)
    assert task["task_id"] == "second"
    reason = await refused(handle, {"task_id": "ask", "responder": "alice", "decision": "reject"})
    assert "already closed (answered by alice" in reason
    await handle.signal("respond", {"task_id": "ask", "responder": "alice", "decision": "reject"})
    await handle.signal("respond", {"task_id": "second", "responder": "mallory"})

    async def two_refusals() -> bool:
        return len((await handle.query("status"))["refused_signals"]) == 2

    await eventually(two_refusals)
    status = await handle.query("status")
    reasons = [r["reason"] for r in status["refused_signals"]]
    assert "already closed" in reasons[0] and "may not answer" in reasons[1]
    assert status["closed_tasks"][0]["decision"] == "approve"
    assert [t["task_id"] for t in status["open_tasks"]] == ["second"]
    await handle.signal("respond", {"task_id": "second", "responder": "alice"})
    result = await handle.result()
    assert result["task"]["decision"] == "approve"


async def test_early_signal_is_buffered_until_its_task_opens(client: Client, worker: str) -> None:
    segment = task_segment(APPROVAL, ["approved", "rejected"])
    segment["steps"].insert(
        0,
        {
            "step_id": "wait",
            "type": "human_task",
            "config": {"kind": "review", "title": "First", "assignee": "bob"},
        },
    )
    segment["edges"].insert(0, {"source": "wait", "target": "ask"})
    segment["entrypoint"] = "wait"
    handle = await start_segment(client, worker, segment, {"id": 4})
    await wait_open(handle)
    await handle.signal("respond", {"task_id": "ask", "responder": "alice", "decision": "reject"})
    await handle.signal("respond", {"task_id": "ghost", "responder": "alice", "decision": "reject"})

    async def buffered() -> bool:
        status = await handle.query("status")
        return len(status["pending_responses"]) == 1 and len(status["refused_signals"]) == 1

    await eventually(buffered)
    reason = await refused(handle, {"task_id": "ask", "responder": "alice", "decision": "reject"})
    assert "not open (yet)" in reason
    status = await handle.query("status")
    assert "no task 'ghost'" in status["refused_signals"][0]["reason"]
    await handle.signal("respond", {"task_id": "wait", "responder": "bob"})
    await handle.result()
    status = await handle.query("status")
    assert status["pending_responses"] == []
    assert status["steps_done"][-1]["step_id"] == "on_rejected"


async def test_pause_shows_paused_and_holds_the_next_step(client: Client, worker: str) -> None:
    handle = await start_segment(client, worker, task_segment(APPROVAL, ["approved"]), {"id": 5})
    await wait_open(handle)
    await handle.signal("pause")

    async def phase_is(phase: str) -> bool:
        return bool((await handle.query("status"))["phase"] == phase)

    await eventually(lambda: phase_is("paused"))
    await handle.execute_update("respond", {"task_id": "ask", "responder": "alice", "decision": "approve"})
    await asyncio.sleep(0.5)
    status = await handle.query("status")
    assert status["phase"] == "paused" and [r["step_id"] for r in status["steps_done"]] == ["ask"]
    await handle.signal("resume")
    await handle.result()
    assert (await handle.query("status"))["steps_done"][-1]["step_id"] == "on_approved"


async def test_cancel_closes_open_tasks(client: Client, worker: str) -> None:
    handle = await start_segment(
        client,
        worker,
        task_segment(APPROVAL, ["approved"]),
        {"id": 6},
        workflow_id=f"ht-cancel-{uuid.uuid4().hex[:8]}",
    )
    await wait_open(handle)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await handle.query("status")
    assert status["phase"] == "cancelled" and status["open_tasks"] == []
    assert status["closed_tasks"][0]["status"] == "cancelled"
