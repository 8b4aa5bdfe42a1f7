"""Bad signals and updates never fail a workflow task: each is refused (update) or listed as
refused (signal), and the run goes on to complete normally.

Junk goes in through every door a client with signal rights on the namespace has: the `respond`
signal and update, `pause`/`resume` with arguments, and the internal `segments_task_event`
signal that branches send to their root run.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from tests.conftest import start_segment
from tests.test_human_tasks import eventually, wait_open
from workflows.contract import (
    ANSWER_INVALID,
    NOT_ALLOWED,
    PAUSE_SIGNAL,
    RESPOND,
    RESUME_SIGNAL,
    SEGMENT_WORKFLOW,
    STATUS_QUERY,
    TASK_CLOSED,
    TASK_EVENT_SIGNAL,
    TASK_NOT_OPEN,
)
from workflows.errors import INVALID_INPUT

ASK = {
    "segment_id": "bad_signals",
    "steps": [
        {
            "step_id": "ask",
            "type": "human_task",
            "config": {
                "kind": "input",
                "title": "Tags",
                "assignee": "alice",
                "input_schema": {
                    "type": "object",
                    "properties": {"tags": {"type": "array", "uniqueItems": True}},
                },
            },
        },
        {"step_id": "done", "type": "transform", "config": {"expression": "steps.ask.output.data"}},
    ],
    "edges": [{"source": "ask", "target": "done"}],
    "output": "{% steps.done.output %}",
}

# O(n²) for jsonschema's uniqueItems: items that cannot be ordered are compared pairwise
SLOW_DATA = {"tags": [{"n": i} for i in range(2000)]}

JUNK_ANSWERS: list[Any] = [
    "approve",
    ["ask"],
    None,
    {},
    {"task_id": 5, "responder": "alice"},
    {"task_id": "ask"},
    {"task_id": "ask", "responder": "   "},
    {"task_id": "ask", "responder": ["alice"]},
    {"task_id": "ask", "responder": "alice", "data": "not an object"},
    {"task_id": "ask", "responder": "alice", "data": SLOW_DATA},
    {"task_id": "ask", "responder": "alice", "comment": {"nested": True}},
    {"task_id": "ask", "responder": "alice", "decision": "maybe"},
    {"task_id": "ask", "responder": "alice", "data": {"x": "y" * 40_000}},
    {"task_id": "ask", "responder": "mallory", "data": {"tags": []}},
]

JUNK_TASK_EVENTS: list[Any] = [
    "opened",
    {"event": "opened"},
    {"event": "exploded", "owner": "x", "task": {}},
    # the repro of the security review: a task view missing its fields
    {"event": "opened", "owner": "{root}/p[0]", "task": {}},
    # a well-formed task from a workflow that is not a branch of this run
    {
        "event": "opened",
        "owner": "elsewhere",
        "task": {"task_id": "x", "step_id": "x", "kind": "approval", "title": "t"},
    },
    # a branch path that does not run this task
    {
        "event": "opened",
        "owner": "{root}/p[0]",
        "task": {"task_id": "q[1]/ask", "step_id": "ask", "kind": "approval", "title": "t"},
    },
    {"event": "closed", "owner": "{root}/p[0]", "task": None},
    {"event": "refused", "owner": "{root}/p[0]", "task": None, "refusal": "not an object"},
]


async def workflow_task_failures(handle: WorkflowHandle[Any, Any]) -> list[str]:
    history = await handle.fetch_history()
    return [
        e.workflow_task_failed_event_attributes.failure.message
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


def _with_root(value: Any, root: str) -> Any:
    if isinstance(value, str):
        return value.replace("{root}", root)
    if isinstance(value, dict):
        return {k: _with_root(v, root) for k, v in value.items()}
    return value


async def test_junk_signals_are_refused_visibly_and_the_run_completes(client: Client, worker: str) -> None:
    handle = await start_segment(client, worker, ASK)
    await wait_open(handle)
    for payload in JUNK_ANSWERS:
        await handle.signal(RESPOND, payload)
    for event in JUNK_TASK_EVENTS:
        await handle.signal(TASK_EVENT_SIGNAL, _with_root(event, handle.id))
    await handle.signal(PAUSE_SIGNAL, {"junk": True})
    await handle.signal(RESUME_SIGNAL, "junk")

    refused_count = len(JUNK_ANSWERS) + len(JUNK_TASK_EVENTS)

    async def all_refused() -> bool:
        status = await handle.query(STATUS_QUERY)
        return len(status["refused_signals"]) >= refused_count and status["phase"] == "waiting_human"

    await eventually(all_refused, timeout=30)
    status = await handle.query(STATUS_QUERY)
    reasons = [r["reason"] for r in status["refused_signals"]]
    assert len(reasons) == refused_count, reasons
    assert sum("task event refused" in r for r in reasons) == len(JUNK_TASK_EVENTS)
    assert any("array of 2000 items" in r for r in reasons)
    assert any("may not answer" in r for r in reasons)
    assert [t["task_id"] for t in status["open_tasks"]] == ["ask"]  # no forged task was listed
    assert status["pending_responses"] == []

    await handle.signal(RESPOND, {"task_id": "ask", "responder": "alice", "data": {"tags": ["a", "b"]}})
    assert await asyncio.wait_for(handle.result(), 30) == {"tags": ["a", "b"]}
    assert await workflow_task_failures(handle) == []


ASK_THEN_CONFIRM = {
    **ASK,
    "steps": [
        *ASK["steps"],
        {"step_id": "confirm", "type": "human_task", "config": {"kind": "review", "title": "Confirm"}},
    ],
    "edges": [{"source": "ask", "target": "confirm"}, {"source": "confirm", "target": "done"}],
}


async def test_junk_updates_are_refused_by_kind_before_history(client: Client, worker: str) -> None:
    handle = await start_segment(client, worker, ASK_THEN_CONFIRM)
    await wait_open(handle)
    before = len((await handle.fetch_history()).events)
    kinds = []
    for payload in [*JUNK_ANSWERS, {"task_id": "ghost", "responder": "alice", "data": {}}]:
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(RESPOND, payload)
        cause = info.value.cause
        assert isinstance(cause, ApplicationError)
        kinds.append(cause.type)
    assert kinds == [ANSWER_INVALID] * (len(JUNK_ANSWERS) - 1) + [NOT_ALLOWED, TASK_NOT_OPEN]
    assert len((await handle.fetch_history()).events) == before  # refused before it was accepted

    await handle.execute_update(RESPOND, {"task_id": "ask", "responder": "alice", "data": {"tags": []}})
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await handle.execute_update(RESPOND, {"task_id": "ask", "responder": "alice", "data": {"tags": []}})
    assert isinstance(late.value.cause, ApplicationError) and late.value.cause.type == TASK_CLOSED
    assert late.value.cause.details[0]["responder"] == "alice"  # the closed task rides along
    await handle.execute_update(RESPOND, {"task_id": "confirm", "responder": "bob"})
    assert await asyncio.wait_for(handle.result(), 30) == {"tags": []}
    assert await workflow_task_failures(handle) == []


async def test_a_malformed_workflow_input_fails_the_run_not_its_workflow_task(
    client: Client, worker: str
) -> None:
    bad_inputs: list[Any] = ["segment", {"input": {}}, {"segment": ASK, "resume": {"next_step": 5}}]
    for request in bad_inputs:
        handle = await client.start_workflow(
            SEGMENT_WORKFLOW, request, id=f"bad-input-{uuid.uuid4().hex[:12]}", task_queue=worker
        )
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), 30)
        cause = info.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == INVALID_INPUT, cause
        assert await workflow_task_failures(handle) == []
