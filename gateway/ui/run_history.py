"""What a run's Temporal history says about its steps, for the run page's side panel.

One pass over the history gives the pinned definition (the run's input), each activity or
local-activity visit with its rendered config, result or error and times, and the branch child
workflows. Steps that run inside the workflow (conditions, human tasks, joins) leave no event of
their own; the `status` query covers them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

from client.api import SegmentsClient
from gateway.history_events import LOCAL_ACTIVITY_MARKER, NOTIFY_PREFIX, step_fields
from segments.dialects.loader import in_our_format

MAX_EVENTS = 50_000
SUMMARY_CHARS = 2_000


def summary(value: Any, limit: int = SUMMARY_CHARS) -> str:
    """A value as indented JSON, cut at `limit` characters (the page shows, never parses, it)."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"


@dataclass
class StepVisit:
    step_id: str
    visit: int
    task_path: str
    activity_type: str
    local: bool = False
    scheduled_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    attempt: int = 1
    input: str | None = None
    output: str | None = None
    error: str | None = None


@dataclass
class ChildRun:
    workflow_id: str
    state: str = "starting"
    started_at: str | None = None
    closed_at: str | None = None
    workflow_type: str = ""
    """`SegmentBranchWorkflow` for a branch, `SegmentWorkflow` for a subworkflow step's run."""


@dataclass
class RunHistory:
    definition: dict[str, Any] | None = None
    visits: list[StepVisit] = field(default_factory=list)
    children: dict[str, ChildRun] = field(default_factory=dict)


def _time(event: HistoryEvent) -> str:
    return event.event_time.ToDatetime(tzinfo=UTC).isoformat()


def _millis(stamp: Any) -> str | None:
    if not isinstance(stamp, dict) or "seconds" not in stamp:
        return None
    seconds = float(stamp["seconds"]) + float(stamp.get("nanos", 0)) / 1e9
    return datetime.fromtimestamp(seconds, UTC).isoformat()


class _Reader:
    def __init__(self, client: SegmentsClient, details: bool = True) -> None:
        self._decode = client.temporal.data_converter.decode
        self._details = details
        self.out = RunHistory()
        self._scheduled: dict[int, StepVisit] = {}

    async def values(self, payloads: Sequence[Payload]) -> list[Any]:
        if not payloads:
            return []
        return await self.decode(payloads)

    async def details(self, payloads: Sequence[Payload]) -> list[Any]:
        """Inputs and outputs: decoded only when the side panel asks for them."""
        return await self.values(payloads) if self._details else []

    async def decode(self, payloads: Sequence[Payload]) -> list[Any]:
        try:
            return await self._decode(payloads)
        except Exception:  # a payload under another codec key: leave it out
            return []

    async def feed(self, event: HistoryEvent) -> None:
        kind = event.WhichOneof("attributes") or ""
        if kind == "workflow_execution_started_event_attributes":
            values = await self.values(list(event.workflow_execution_started_event_attributes.input.payloads))
            request = values[0] if values and isinstance(values[0], dict) else {}
            segment = request.get("segment")
            if isinstance(segment, dict) and self.out.definition is None:
                self.out.definition = segment
        elif kind == "activity_task_scheduled_event_attributes":
            await self._scheduled_activity(event)
        elif kind == "marker_recorded_event_attributes":
            await self._marker(event)
        elif kind.startswith("activity_task_"):
            await self._activity_progress(event, kind)
        elif kind == "start_child_workflow_execution_initiated_event_attributes":
            initiated = event.start_child_workflow_execution_initiated_event_attributes
            child_id = initiated.workflow_id
            self.out.children[child_id] = ChildRun(
                child_id, started_at=_time(event), workflow_type=initiated.workflow_type.name
            )
        elif kind.startswith(("child_workflow_execution_", "start_child_workflow_execution_")):
            attrs = getattr(event, kind)
            execution = getattr(attrs, "workflow_execution", None)
            child_id = execution.workflow_id if execution is not None else getattr(attrs, "workflow_id", "")
            child = self.out.children.setdefault(child_id, ChildRun(child_id))
            outcome = kind.removeprefix("child_workflow_execution_").removesuffix("_event_attributes")
            if outcome == "started":
                child.state = "running"
            else:
                failed_to_start = kind.startswith("start_child")
                child.state = "failed" if failed_to_start else outcome.replace("canceled", "cancelled")
                child.closed_at = _time(event)

    async def _scheduled_activity(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_scheduled_event_attributes
        fields = step_fields(attrs.activity_id)
        if attrs.activity_id.startswith(NOTIFY_PREFIX) or "step_id" not in fields:
            return
        values = await self.details(list(attrs.input.payloads))
        request = values[0] if values and isinstance(values[0], dict) else {}
        visit = StepVisit(
            fields["step_id"],
            fields["visit"],
            fields["task_path"],
            attrs.activity_type.name,
            scheduled_at=_time(event),
            input=summary(request.get("config")) if "config" in request else None,
        )
        self._scheduled[event.event_id] = visit
        self.out.visits.append(visit)

    async def _activity_progress(self, event: HistoryEvent, kind: str) -> None:
        attrs = getattr(event, kind)
        visit = self._scheduled.get(getattr(attrs, "scheduled_event_id", 0))
        if visit is None:
            return
        if kind == "activity_task_started_event_attributes":
            visit.started_at = _time(event)
            visit.attempt = attrs.attempt
            return
        visit.finished_at = _time(event)
        if kind == "activity_task_completed_event_attributes":
            values = await self.details(list(attrs.result.payloads))
            visit.output = summary(values[0]) if values else None
        elif kind == "activity_task_failed_event_attributes":
            visit.error = attrs.failure.message
        elif kind == "activity_task_timed_out_event_attributes":
            visit.error = "timed out"
        elif kind == "activity_task_canceled_event_attributes":
            visit.error = "cancelled"

    async def _marker(self, event: HistoryEvent) -> None:
        attrs = event.marker_recorded_event_attributes
        if attrs.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in attrs.details:
            return
        try:
            data = json.loads(attrs.details["data"].payloads[0].data)
        except (ValueError, IndexError):
            return
        fields = step_fields(str(data.get("activity_id", ""))) if isinstance(data, dict) else {}
        if "step_id" not in fields:
            return
        visit = StepVisit(
            fields["step_id"],
            fields["visit"],
            fields["task_path"],
            str(data.get("activity_type", "")),
            local=True,
            finished_at=_millis(data.get("complete_time")) or _time(event),
            attempt=int(data.get("attempt") or 1),
        )
        if attrs.HasField("failure"):
            visit.error = attrs.failure.message
        elif "result" in attrs.details:
            values = await self.details(list(attrs.details["result"].payloads))
            visit.output = summary(values[0]) if values else None
        self.out.visits.append(visit)


async def read_run_history(client: SegmentsClient, run_id: str, details: bool = True) -> RunHistory:
    """The whole history of the run's current Temporal run (bounded at MAX_EVENTS events);
    without `details`, step inputs and outputs are left undecoded (None)."""
    reader = _Reader(client, details)
    count = 0
    async for event in client.handle(run_id).fetch_history_events():
        await reader.feed(event)
        count += 1
        if count >= MAX_EVENTS:
            break
    return reader.out


async def pinned_definition(client: SegmentsClient, run_id: str) -> dict[str, Any] | None:
    """The definition the run started with: its first history event, fetched alone."""
    temporal = client.temporal
    response = await temporal.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=temporal.namespace,
            execution=WorkflowExecution(workflow_id=run_id),
            maximum_page_size=1,
        ),
        retry=True,
    )
    reader = _Reader(client)
    for event in response.history.events[:1]:
        await reader.feed(event)
    definition = reader.out.definition
    return in_our_format(definition) if definition is not None else None  # a raw llmteam export too
