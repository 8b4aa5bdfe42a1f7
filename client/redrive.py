"""Redrive: continue a failed run from the step that failed, keeping everything before it.

Built on Temporal's reset: the run's history is copied up to the workflow task that started the
failed step, and the workflow carries on from there in a new run of the same workflow id. Steps
that completed before that point are not run again (their outputs are in the kept history), and
the history of the failed attempt stays in the failed run: history remains the record.

Where the failed step started is read from the history: the step activity that failed (activity
id `<branch path><step>#<visit>`), else the failed local activity (transform), else the failed
branch child, else the step's first timer (a human task that failed by `on_timeout: fail`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.converter import PayloadConverter

LOCAL_ACTIVITY_MARKER = "core_local_activity"


class RedriveRefused(Exception):
    """The run cannot be redriven; the message says why and what to do instead."""


@dataclass(frozen=True)
class Redriven:
    run_id: str
    """The workflow id: unchanged, so `segments result RUN_ID` follows the redriven run."""
    failed_step: str
    reset_to_event: int
    failed_temporal_run: str
    new_temporal_run: str


async def redrive(client: Client, run_id: str, *, reason: str | None = None) -> Redriven:
    handle = client.get_workflow_handle(run_id)
    description = await handle.describe()
    if description.status != WorkflowExecutionStatus.FAILED:
        state = description.status.name.lower() if description.status else "unknown"
        raise RedriveRefused(
            f"run '{run_id}' is {state}; only a failed run can be redriven"
            + (" (wait for it to end, or cancel it)" if state == "running" else "")
        )
    failed_run = description.run_id
    events = [e async for e in client.get_workflow_handle(run_id, run_id=failed_run).fetch_history_events()]
    step, task_path = failed_step(events, client.data_converter.payload_converter)
    event_id = reset_point(events, step, task_path, client.data_converter.payload_converter)
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=run_id, run_id=failed_run),
            reason=reason or f"redrive from step '{task_path}{step}'",
            workflow_task_finish_event_id=event_id,
            request_id=str(uuid.uuid4()),
        )
    )
    return Redriven(run_id, f"{task_path}{step}", event_id, failed_run, response.run_id)


def failed_step(events: Sequence[HistoryEvent], converter: PayloadConverter) -> tuple[str, str]:
    """(step id, branch path) from the run's failure, which a failed step describes in its details."""
    for event in reversed(events):
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            continue
        failure = event.workflow_execution_failed_event_attributes.failure
        payloads = failure.application_failure_info.details.payloads
        details: Any = converter.from_payload(payloads[0]) if payloads else None
        if isinstance(details, dict) and isinstance(details.get("step_id"), str):
            return details["step_id"], str(details.get("task_path") or "")
        raise RedriveRefused(
            f"the run failed before or outside any step ({failure.message}); "
            "fix the definition or input and start a new run"
        )
    raise RedriveRefused("the run's history has no failure")


def reset_point(
    events: Sequence[HistoryEvent], step: str, task_path: str, converter: PayloadConverter
) -> int:
    """The id of the WorkflowTaskCompleted event whose commands started the failed step's last visit."""
    by_id = {e.event_id: e for e in events}
    prefix = f"{task_path}{step}#"
    for event in reversed(events):
        kind = event.event_type
        if kind in (EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT):
            attributes = (
                event.activity_task_failed_event_attributes
                if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
                else event.activity_task_timed_out_event_attributes
            )
            scheduled = by_id[attributes.scheduled_event_id]
            if scheduled.activity_task_scheduled_event_attributes.activity_id.startswith(prefix):
                return scheduled.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
        if kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            failed = marker.marker_name == LOCAL_ACTIVITY_MARKER and marker.HasField("failure")
            if failed and _summary(event, converter).startswith(f"{step} · "):
                return marker.workflow_task_completed_event_id
        if kind == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
            initiated = by_id[event.child_workflow_execution_failed_event_attributes.initiated_event_id]
            started = initiated.start_child_workflow_execution_initiated_event_attributes
            return started.workflow_task_completed_event_id
    for event in events:  # a human task that failed by timing out: from its first timer
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED and _summary(event, converter).startswith(
            f"{step} · "
        ):
            return event.timer_started_event_attributes.workflow_task_completed_event_id
    raise RedriveRefused(
        f"cannot find where step '{task_path}{step}' started in the run's history; start a new run"
    )


def _summary(event: HistoryEvent, converter: PayloadConverter) -> str:
    if not event.user_metadata.HasField("summary"):
        return ""
    value = converter.from_payload(event.user_metadata.summary)
    return value if isinstance(value, str) else ""
