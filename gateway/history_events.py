"""Translating a run's Temporal history into the gateway's run events (served as SSE).

Each history event maps to at most one run event, and an event's id is its history event id.
The events a workflow task writes (after its `WorkflowTaskCompleted` event, id C: scheduled
activities, local-activity markers, search-attribute upserts, accepted updates, the run's end)
are one *chunk*; they are emitted together, in the order things happened in the workflow, with
ids `C.1`, `C.2`, … Steps that leave no event of their own in history (conditions, human tasks,
joins) are derived from the run's `status` query: its `steps_done` list is in completion order
and each record carries its `finished_at` (workflow time), which places it in the chunk of the
workflow task that recorded it. Ids are totally ordered (`N` < `N.1` < `N.2` < `N+1`), so a
client resumes with `Last-Event-ID` and misses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.converter import default as default_converter

from workflows.run_details import SEPARATOR
from workflows.task_relay import TASK_EVENT_SIGNAL

Decode = Callable[[Sequence[Payload]], Awaitable[list[Any]]]
StatusSnapshot = Callable[[], Awaitable[dict[str, Any] | None]]

NOTIFY_PREFIX = "notify/"
LOCAL_ACTIVITY_MARKER = "core_local_activity"

# Events a workflow task's completion writes right after its WorkflowTaskCompleted event.
_COMMAND_EVENTS = frozenset(
    {
        "activity_task_scheduled_event_attributes",
        "activity_task_cancel_requested_event_attributes",
        "marker_recorded_event_attributes",
        "timer_started_event_attributes",
        "timer_canceled_event_attributes",
        "upsert_workflow_search_attributes_event_attributes",
        "workflow_properties_modified_event_attributes",
        "start_child_workflow_execution_initiated_event_attributes",
        "signal_external_workflow_execution_initiated_event_attributes",
        "request_cancel_external_workflow_execution_initiated_event_attributes",
        "workflow_execution_update_accepted_event_attributes",
        "workflow_execution_update_completed_event_attributes",
        "workflow_execution_completed_event_attributes",
        "workflow_execution_failed_event_attributes",
        "workflow_execution_canceled_event_attributes",
        "workflow_execution_continued_as_new_event_attributes",
    }
)
_ENDS_CHUNK = frozenset(
    {
        "workflow_task_scheduled_event_attributes",
        "workflow_task_started_event_attributes",
    }
)
_FINISHED = frozenset(
    {
        "workflow_execution_completed_event_attributes",
        "workflow_execution_failed_event_attributes",
        "workflow_execution_canceled_event_attributes",
        "workflow_execution_continued_as_new_event_attributes",
    }
)


Cursor = tuple[int, int]


def parse_cursor(text: str | None) -> Cursor:
    """`"12"` -> (12, 0), `"12.3"` -> (12, 3); anything else starts from the beginning."""
    if not text:
        return (0, 0)
    head, _, tail = text.strip().partition(".")
    if not head.isdigit() or (tail and not tail.isdigit()):
        return (0, 0)
    return (int(head), int(tail or 0))


@dataclass(frozen=True)
class RunEvent:
    event_id: int
    seq: int
    type: str
    data: dict[str, Any]

    @property
    def sse_id(self) -> str:
        return str(self.event_id) if self.seq == 0 else f"{self.event_id}.{self.seq}"

    def after(self, cursor: Cursor) -> bool:
        return (self.event_id, self.seq) > cursor


def step_fields(activity_id: str) -> dict[str, Any]:
    """`enrich[2]/price#3` -> task_path `enrich[2]/`, step_id `price`, visit 3."""
    base, _, visit = activity_id.rpartition("#")
    if not base or not visit.isdigit():
        return {"activity_id": activity_id}
    path, slash, step_id = base.rpartition("/")
    return {"step_id": step_id, "visit": int(visit), "task_path": path + slash, "activity_id": activity_id}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _when(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def _parse_time(text: Any) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class _Chunk:
    head: HistoryEvent
    page: int
    events: list[HistoryEvent] = field(default_factory=list)


class HistoryTranslator:
    """Feeds on history events in order; returns the run events each one completes."""

    def __init__(self, run_id: str, decode: Decode, status: StatusSnapshot) -> None:
        self.run_id = run_id
        self._decode = decode
        self._status = status
        self.page = 0
        self._snapshot: dict[str, Any] | None = None
        self._snapshot_page = -1
        self._activities: dict[int, dict[str, Any]] = {}
        self._completed_keys: set[str] = set()
        self._records_seen = 0
        self._tasks_opened: set[str] = set()
        self._chunk: _Chunk | None = None

    # --- feeding ---------------------------------------------------------------------

    async def feed(self, event: HistoryEvent) -> list[RunEvent]:
        kind = event.WhichOneof("attributes") or ""
        if kind == "workflow_task_completed_event_attributes":
            out = await self.flush()
            self._chunk = _Chunk(event, self.page)
            return out
        if self._chunk is not None and kind in _COMMAND_EVENTS:
            self._chunk.events.append(event)
            return []
        out = await self.flush()
        if kind not in _ENDS_CHUNK:
            mapped = await self._single(event, kind)
            if mapped is not None:
                out.append(RunEvent(event.event_id, 0, *mapped))
        return out

    async def flush(self) -> list[RunEvent]:
        """Emits the pending chunk (call at the end of each history page as well)."""
        chunk, self._chunk = self._chunk, None
        if chunk is None:
            return []
        snapshot = await self._status_for(chunk)
        ordered: list[tuple[str, dict[str, Any]]] = []
        rest = []
        markers: dict[str, HistoryEvent] = {}
        for event in chunk.events:
            kind = event.WhichOneof("attributes") or ""
            if kind == "workflow_execution_update_accepted_event_attributes":
                mapped = await self._update_accepted(event)
                if mapped:
                    ordered.append(mapped)
            elif kind == "marker_recorded_event_attributes" and self._marker_key(event):
                markers[self._marker_key(event) or ""] = event
            else:
                rest.append((event, kind))
        ordered.extend(await self._completions(chunk, snapshot, markers))
        ordered.extend([await self._marker(e) for e in markers.values()])
        finished: list[tuple[str, dict[str, Any]]] = []
        for event, kind in rest:
            mapped = await self._command(event, kind)
            if mapped is None:
                continue
            (finished if kind in _FINISHED else ordered).append(mapped)
        ordered.extend(self._opened_tasks(chunk, snapshot))
        ordered.extend(finished)
        return [RunEvent(chunk.head.event_id, i, kind, data) for i, (kind, data) in enumerate(ordered, 1)]

    # --- steps completed in a chunk ----------------------------------------------------

    async def _status_for(self, chunk: _Chunk) -> dict[str, Any] | None:
        """A `status` snapshot taken after the chunk arrived (one per history page at most)."""
        if self._snapshot_page < chunk.page:
            self._snapshot = await self._status()
            self._snapshot_page = self.page
        return self._snapshot

    async def _completions(
        self, chunk: _Chunk, snapshot: dict[str, Any] | None, markers: dict[str, HistoryEvent]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Steps finished in this workflow task, in the order the run recorded them."""
        if snapshot is None:
            return []
        records = snapshot.get("steps_done") or []
        chunk_time = _when(chunk.head)
        out = []
        while self._records_seen < len(records):
            record = records[self._records_seen]
            key = f"{record.get('task_path') or ''}{record.get('step_id')}#{record.get('visit')}"
            finished = _parse_time(record.get("finished_at"))
            if key not in markers and (finished is None or finished > chunk_time):
                break  # recorded by a later workflow task
            self._records_seen += 1
            if key in markers:
                out.append(await self._marker(markers.pop(key), port=record.get("port")))
            elif key not in self._completed_keys:
                fields = {k: record.get(k) for k in ("step_id", "visit", "port", "task_path")}
                out.append(("step.completed", {**fields, "run_id": self.run_id, "derived": True}))
        return out

    def _opened_tasks(
        self, chunk: _Chunk, snapshot: dict[str, Any] | None
    ) -> list[tuple[str, dict[str, Any]]]:
        if snapshot is None:
            return []
        chunk_time = _when(chunk.head)
        out = []
        for task in snapshot.get("open_tasks") or []:
            opened = _parse_time(task.get("opened_at"))
            task_id = str(task.get("task_id"))
            if task_id in self._tasks_opened or opened is None or opened > chunk_time:
                continue
            self._tasks_opened.add(task_id)
            out.append(("task.opened", {"run_id": self.run_id, **task}))
        return out

    # --- mapping single events ---------------------------------------------------------

    async def _values(self, payloads: Sequence[Payload]) -> list[Any]:
        if not payloads:
            return []
        try:
            return await self._decode(payloads)
        except Exception:  # an undecodable payload (another codec key): leave it out
            return []

    async def _summary(self, event: HistoryEvent) -> str | None:
        """The step's name: the summary `<step> · <name>` (workflows/run_details.py) without the step."""
        if not event.user_metadata.HasField("summary"):
            return None
        values = await self._values([event.user_metadata.summary])
        return step_name(str(values[0])) if values else None

    def _marker_key(self, event: HistoryEvent) -> str | None:
        attrs = event.marker_recorded_event_attributes
        if attrs.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in attrs.details:
            return None
        try:
            data = json.loads(attrs.details["data"].payloads[0].data)
        except (ValueError, IndexError):
            return None
        activity_id = data.get("activity_id") if isinstance(data, dict) else None
        return str(activity_id) if activity_id else None

    async def _marker(self, event: HistoryEvent, port: Any = None) -> tuple[str, dict[str, Any]]:
        attrs = event.marker_recorded_event_attributes
        data = {**step_fields(self._marker_key(event) or ""), "run_id": self.run_id, "local": True}
        data["name"] = await self._summary(event)
        data["history_event_id"] = event.event_id
        if port is not None:
            data["port"] = port
        if attrs.HasField("failure"):
            return "step.failed", {**data, "error": attrs.failure.message}
        return "step.completed", data

    async def _update_accepted(self, event: HistoryEvent) -> tuple[str, dict[str, Any]] | None:
        request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        if request.input.name != "respond":
            return None
        values = await self._values(list(request.input.args.payloads))
        payload = values[0] if values and isinstance(values[0], dict) else {}
        return "task.answered", {
            "run_id": self.run_id,
            "via": "update",
            "history_event_id": event.event_id,
            **{k: payload.get(k) for k in ("task_id", "responder", "decision", "option", "comment")},
        }

    async def _command(self, event: HistoryEvent, kind: str) -> tuple[str, dict[str, Any]] | None:
        base = {"run_id": self.run_id, "history_event_id": event.event_id}
        if kind == "activity_task_scheduled_event_attributes":
            attrs = event.activity_task_scheduled_event_attributes
            info = {
                **step_fields(attrs.activity_id),
                "activity_type": attrs.activity_type.name,
                "name": await self._summary(event),
            }
            self._activities[event.event_id] = info
            if attrs.activity_id.startswith(NOTIFY_PREFIX):
                return None
            return "step.started", {**base, **info}
        if kind == "start_child_workflow_execution_initiated_event_attributes":
            child = event.start_child_workflow_execution_initiated_event_attributes
            return "branch.started", {**base, "workflow_id": child.workflow_id}
        if kind == "upsert_workflow_search_attributes_event_attributes":
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            if "SegmentPhase" not in fields:
                return None
            phase = default_converter().payload_converter.from_payloads([fields["SegmentPhase"]])[0]
            return "run.phase", {**base, "phase": phase}
        if kind == "workflow_execution_completed_event_attributes":
            values = await self._values(
                list(event.workflow_execution_completed_event_attributes.result.payloads)
            )
            return "run.finished", {**base, "phase": "completed", "result": values[0] if values else None}
        if kind == "workflow_execution_failed_event_attributes":
            failure = event.workflow_execution_failed_event_attributes.failure
            return "run.finished", {**base, "phase": "failed", "error": failure.message}
        if kind == "workflow_execution_canceled_event_attributes":
            return "run.finished", {**base, "phase": "cancelled"}
        if kind == "workflow_execution_continued_as_new_event_attributes":
            return "run.continued_as_new", base
        return None

    async def _single(self, event: HistoryEvent, kind: str) -> tuple[str, dict[str, Any]] | None:
        base: dict[str, Any] = {"run_id": self.run_id}
        if kind == "workflow_execution_started_event_attributes":
            attrs = event.workflow_execution_started_event_attributes
            values = await self._values(list(attrs.input.payloads))
            request = values[0] if values and isinstance(values[0], dict) else {}
            segment = _object(request.get("segment"))
            return "run.started", {
                **base,
                "segment_id": segment.get("segment_id"),
                "version": segment.get("version"),
                "tenant_id": request.get("tenant_id"),
            }
        if kind.startswith("activity_task_") and kind != "activity_task_started_event_attributes":
            return self._activity_end(event, kind, base)
        if (
            kind.startswith("child_workflow_execution_")
            and kind != "child_workflow_execution_started_event_attributes"
        ):
            attrs = getattr(event, kind)
            outcome = kind.removeprefix("child_workflow_execution_").removesuffix("_event_attributes")
            name = "branch.completed" if outcome == "completed" else "branch.failed"
            return name, {**base, "workflow_id": attrs.workflow_execution.workflow_id, "outcome": outcome}
        if kind == "workflow_execution_signaled_event_attributes":
            return await self._signal(event, base)
        if kind == "workflow_execution_cancel_requested_event_attributes":
            return "run.cancel_requested", base
        if kind == "workflow_execution_terminated_event_attributes":
            return "run.finished", {**base, "phase": "terminated"}
        if kind == "workflow_execution_timed_out_event_attributes":
            return "run.finished", {**base, "phase": "timed_out"}
        return None

    def _activity_end(
        self, event: HistoryEvent, kind: str, base: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        attrs = getattr(event, kind)
        info = self._activities.get(getattr(attrs, "scheduled_event_id", 0))
        if info is None or str(info.get("activity_id", "")).startswith(NOTIFY_PREFIX):
            return None
        data = {**base, **info}
        if kind == "activity_task_completed_event_attributes":
            self._completed_keys.add(str(info.get("activity_id")))
            return "step.completed", data
        if kind == "activity_task_failed_event_attributes":
            self._completed_keys.add(str(info.get("activity_id")))
            return "step.failed", {**data, "error": attrs.failure.message}
        if kind == "activity_task_timed_out_event_attributes":
            return "step.failed", {**data, "error": "timed out"}
        if kind == "activity_task_canceled_event_attributes":
            return "step.cancelled", data
        return None

    async def _signal(self, event: HistoryEvent, base: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        attrs = event.workflow_execution_signaled_event_attributes
        name = attrs.signal_name
        if name in ("pause", "resume"):
            return f"run.{'paused' if name == 'pause' else 'resumed'}", base
        values = await self._values(list(attrs.input.payloads))
        payload = values[0] if values and isinstance(values[0], dict) else {}
        if name == "respond":
            fields = {k: payload.get(k) for k in ("task_id", "responder", "decision", "option", "comment")}
            return "task.answered", {**base, "via": "signal", **fields}
        if name == TASK_EVENT_SIGNAL:
            task = _object(payload.get("task"))
            event_name = {"opened": "task.opened", "closed": "task.closed", "changed": "task.escalated"}
            kind = event_name.get(str(payload.get("event")))
            if kind is None:
                return None
            if kind == "task.opened":
                self._tasks_opened.add(str(task.get("task_id")))
            return kind, {**base, **task}
        return None


def step_name(summary: str) -> str:
    """`total · Total` -> `Total`; a summary recorded before steps were named in it stays as it is."""
    _, separator, name = summary.partition(SEPARATOR)
    return name if separator else summary
