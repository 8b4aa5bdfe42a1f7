"""The audit export: its hash chain, and an export of a real dev-server history."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import shutil
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.api.common.v1 import ActivityType, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    HistoryEvent,
    WorkflowExecutionFailedEventAttributes,
)
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.contracts import RunInfo, StepActivityInput
from client.audit import GENESIS_HASH, audit_records, chain, export_audit, to_jsonl, verify_lines
from client.codec import SegmentsCodec, data_converter_for

RECORDS: list[dict[str, Any]] = [
    {"event": "run_started", "time": "2026-01-01T00:00:00Z", "segment_id": "orders", "tenant_id": "acme"},
    {"event": "activity_completed", "time": "2026-01-01T00:00:01Z", "step_id": "place", "status": 201},
    {"event": "respond", "time": "2026-01-01T00:00:02Z", "responder": "alice", "comment": "ok, été"},
    {"event": "run_completed", "time": "2026-01-01T00:00:03Z"},
]


def _text_lines() -> list[str]:
    return to_jsonl(chain(RECORDS)).splitlines(keepends=True)


def test_chain_links_and_hashes_canonical_json() -> None:
    lines = chain(RECORDS)
    assert [line["seq"] for line in lines] == [1, 2, 3, 4]
    assert lines[0]["prev_hash"] == GENESIS_HASH
    for prev, line in itertools.pairwise(lines):
        assert line["prev_hash"] == prev["hash"]
    body = {k: v for k, v in lines[2].items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert lines[2]["hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    result = verify_lines(_text_lines(), expected_head=lines[-1]["hash"])
    assert result.ok and result.count == 4 and result.head == lines[-1]["hash"]
    assert verify_lines(lines).ok  # parsed dicts are accepted too


@pytest.mark.parametrize(
    ("line_no", "old", "new"), [(2, "201", "202"), (3, "alice", "alicf"), (1, '"hash":"', '"hash":"0')]
)
def test_one_edited_byte_is_detected_and_named(line_no: int, old: str, new: str) -> None:
    lines = _text_lines()
    assert old in lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    result = verify_lines(lines)
    assert not result.ok and result.first_bad_line == line_no, result


def test_whitespace_edit_is_detected() -> None:
    lines = _text_lines()
    lines[1] = lines[1].replace(",", ", ", 1)
    assert verify_lines(lines).first_bad_line == 2


def test_removed_line_is_detected() -> None:
    lines = _text_lines()
    del lines[1]
    result = verify_lines(lines)
    assert not result.ok and result.first_bad_line == 2 and "removed or moved" in (result.reason or "")


def test_reordered_lines_are_detected() -> None:
    lines = _text_lines()
    lines[1], lines[2] = lines[2], lines[1]
    result = verify_lines(lines)
    assert not result.ok and result.first_bad_line == 2


def test_truncation_and_rewritten_chain_need_the_head() -> None:
    full = chain(RECORDS)
    head = full[-1]["hash"]
    assert verify_lines(_text_lines()[:3]).ok  # a chain prefix is a valid chain...
    truncated = verify_lines(_text_lines()[:3], expected_head=head)
    assert not truncated.ok and truncated.first_bad_line == 4  # ...but not the recorded one
    forged = to_jsonl(chain([r for r in RECORDS if r["event"] != "respond"])).splitlines()
    assert verify_lines(forged).ok and not verify_lines(forged, expected_head=head).ok


# --- a real history ---------------------------------------------------------------------

SECRET_BODY = "body-secret-3e1d"
TIMEOUT = timedelta(seconds=10)


@activity.defn(name="http_action")
async def fake_http_action(step: StepActivityInput) -> dict[str, Any]:
    return {"status": 201, "headers": {"location": "/orders/1"}, "body": {"token": SECRET_BODY}}


@workflow.defn(name="AuditFlow")
class AuditFlow:
    def __init__(self) -> None:
        self.responses: list[dict[str, Any]] = []

    @workflow.run
    async def run(self, data: dict[str, Any]) -> int:
        info = workflow.info()
        run = RunInfo(
            info.workflow_id, data["segment"]["segment_id"], data.get("tenant_id"), "2026-01-01T00:00:00Z"
        )
        step = StepActivityInput(
            "place", "http_action", {"url": "https://erp/orders"}, run, task_path="b[0]/"
        )
        result = await workflow.execute_activity("http_action", step, start_to_close_timeout=TIMEOUT)
        await workflow.wait_condition(lambda: len(self.responses) >= 2)
        return int(result["status"])

    @workflow.signal(name="respond")
    def respond_signal(self, response: dict[str, Any]) -> None:
        self.responses.append(response)

    @workflow.update(name="respond")
    def respond_update(self, response: dict[str, Any]) -> dict[str, Any]:
        self.responses.append(response)
        return {"accepted": True}

    @respond_update.validator
    def check_response(self, response: dict[str, Any]) -> None:
        if response.get("task_id") != "approve":
            raise ValueError(f"unknown task {response.get('task_id')}")

    @workflow.signal(name="pause")
    def pause(self, by: dict[str, Any]) -> None:
        pass


def temporal_cli() -> str:
    found = shutil.which("temporal") or str(Path(sys.prefix) / "bin" / "temporal")
    if not os.path.exists(found):
        pytest.skip("temporal CLI not found")
    return found


async def test_export_of_a_real_encrypted_history() -> None:
    converter = data_converter_for(SegmentsCodec({"k": os.urandom(32)}, "k"))
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), data_converter=converter
    ) as env:
        async with Worker(
            env.client,
            task_queue="audit",
            workflows=[AuditFlow],
            activities=[fake_http_action],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            workflow_id = f"audit-{uuid.uuid4()}"
            segment = {"segment_id": "orders", "steps": [], "edges": []}
            handle = await env.client.start_workflow(
                "AuditFlow",
                {"segment": segment, "input": {}, "tenant_id": "acme"},
                id=workflow_id,
                task_queue="audit",
            )
            await handle.signal("pause", {"by": "ops", "reason": "checking"})
            response = {"task_id": "approve", "responder": "alice", "decision": "approve", "comment": "fine"}
            await handle.signal("respond", response)
            await handle.execute_update("respond", {**response, "responder": "bob", "decision": "reject"})
            assert await handle.result() == 201
        lines = await export_audit(env.client, workflow_id)

    by_event: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_event.setdefault(line["event"], []).append(line)
    [started] = by_event["run_started"]
    assert started["segment_id"] == "orders" and started["tenant_id"] == "acme"
    assert started["workflow_id"] == workflow_id  # the run's id; Temporal's own is named as such
    assert "run_id" not in started and started["temporal_run_id"] != workflow_id
    [scheduled] = by_event["activity_scheduled"]
    assert scheduled["activity_type"] == "http_action" and scheduled["task_id"] == "b[0]/place"
    [done] = by_event["activity_completed"]
    assert done["status"] == 201 and done["step_id"] == "place" and done["attempt"] == 1
    assert done["scheduled_time"] <= done["time"] and done["worker"]
    responses = {(r["via"], r["responder"]): r for r in by_event["respond"]}
    assert responses[("signal", "alice")]["decision"] == "approve"
    assert responses[("signal", "alice")]["comment"] == "fine"
    assert responses[("update", "bob")]["accepted"] is True
    assert by_event["paused"][0]["by"] == "ops"
    assert lines[-1]["event"] == "run_completed"

    text = to_jsonl(lines)
    assert SECRET_BODY not in text and "https://erp/orders" not in text
    assert base64.b64encode(SECRET_BODY.encode()).decode()[:12] not in text
    assert verify_lines(text.splitlines(), expected_head=lines[-1]["hash"]).ok


async def test_llm_usage_failures_and_children_from_a_built_history() -> None:
    conv = DataConverter.default

    async def payloads(value: Any) -> Payloads:
        return Payloads(payloads=await conv.encode([value]))

    async def failure(err: Exception) -> Failure:
        out = Failure()
        await conv.encode_failure(err, out)
        return out

    ask = {"step_id": "ask", "step_type": "llm_agent", "config": {"prompt": "PROMPT-SECRET"}, "visit": 2}
    answer = {"text": "ANSWER-SECRET", "model": "m1", "usage": {"input_tokens": 3, "output_tokens": 4}}
    child = WorkflowExecution(workflow_id="run-1/branch", run_id="r2")
    events = [
        HistoryEvent(
            event_id=5,
            activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
                activity_id="5", activity_type=ActivityType(name="llm_agent"), input=await payloads(ask)
            ),
        ),
        HistoryEvent(
            event_id=7,
            activity_task_completed_event_attributes=ActivityTaskCompletedEventAttributes(
                scheduled_event_id=5, result=await payloads(answer | {"finish_reason": "stop"})
            ),
        ),
        HistoryEvent(
            event_id=8,
            activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
                activity_id="8", activity_type=ActivityType(name="http_action")
            ),
        ),
        HistoryEvent(
            event_id=10,
            activity_task_failed_event_attributes=ActivityTaskFailedEventAttributes(
                scheduled_event_id=8,
                failure=await failure(
                    ApplicationError("HTTP 503", type="HttpStatusError", non_retryable=True)
                ),
            ),
        ),
        HistoryEvent(
            event_id=11,
            child_workflow_execution_started_event_attributes=ChildWorkflowExecutionStartedEventAttributes(
                workflow_execution=child, workflow_type=WorkflowType(name="SegmentWorkflow")
            ),
        ),
        HistoryEvent(
            event_id=12,
            child_workflow_execution_completed_event_attributes=ChildWorkflowExecutionCompletedEventAttributes(
                workflow_execution=child, result=await payloads({"out": "CHILD-SECRET"})
            ),
        ),
        HistoryEvent(
            event_id=13,
            workflow_execution_failed_event_attributes=WorkflowExecutionFailedEventAttributes(
                failure=await failure(ApplicationError("step place failed", type="StepFailed"))
            ),
        ),
    ]
    records = await audit_records(events, conv)
    assert [r["event"] for r in records] == [
        "activity_scheduled",
        "activity_completed",
        "activity_scheduled",
        "activity_failed",
        "child_started",
        "child_completed",
        "run_failed",
    ]
    llm = records[1]
    assert llm["step_id"] == "ask" and llm["visit"] == 2 and llm["model"] == "m1"
    assert llm["usage"] == {"input_tokens": 3, "output_tokens": 4} and llm["finish_reason"] == "stop"
    assert records[3]["error"] == {"type": "HttpStatusError", "message": "HTTP 503", "non_retryable": True}
    assert (
        records[5]["child_workflow_id"] == "run-1/branch"
        and records[5]["child_workflow_type"] == "SegmentWorkflow"
    )
    assert records[6]["error"]["type"] == "StepFailed"
    text = to_jsonl(chain(records))
    assert not any(secret in text for secret in ("PROMPT-SECRET", "ANSWER-SECRET", "CHILD-SECRET"))


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_line_with_a_number_json_cannot_hold_is_named_not_a_crash(number: str) -> None:
    """Review L6: `segments audit verify` on a NaN line named the line instead of a traceback."""
    good = to_jsonl(chain(RECORDS[:1])).splitlines()
    result = verify_lines([*good, f'{{"event":"x","n":{number},"seq":2}}'])
    assert not result.ok and result.first_bad_line == 2
    assert result.reason is not None and "canonical" in result.reason
