"""Segments on a schedule, with Temporal Schedules: cron or interval, an overlap policy, and the
definition itself stored in the schedule's action, so each run starts exactly the definition that
was scheduled. Schedules show on the Temporal Web UI's Schedules page; the runs they start carry
the same search attributes, memo and summary as runs started by the client.

A schedule carries the search attributes `SegmentId` and `TenantId` (so one tenant lists only its
own) and its runs get workflow ids `<schedule id>-<time>` (Temporal appends the time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from client.launch import WORKFLOW_TYPE, launch_for
from segments.durations import format_duration, parse_duration
from workflows.search_attributes import SEGMENT_ID, TENANT_ID

OVERLAP_POLICIES: dict[str, ScheduleOverlapPolicy] = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "buffer_all": ScheduleOverlapPolicy.BUFFER_ALL,
    "cancel_other": ScheduleOverlapPolicy.CANCEL_OTHER,
    "terminate_other": ScheduleOverlapPolicy.TERMINATE_OTHER,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}
MIN_INTERVAL = timedelta(seconds=1)
MAX_CRON_LENGTH = 200


class ScheduleRefused(ValueError):
    """A schedule request that cannot be used; the message names the field and the fix."""


@dataclass(frozen=True)
class ScheduleRequest:
    schedule_id: str
    definition: dict[str, Any]
    run_input: Any = None
    tenant_id: str | None = None
    cron: str | None = None
    every: str | None = None
    """An ISO 8601 duration (`PT1H`)."""
    overlap: str = "skip"
    paused: bool = False
    note: str = ""
    extra_memo: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> ScheduleSpec:
        if (self.cron is None) == (self.every is None):
            raise ScheduleRefused("give exactly one of cron (e.g. '0 9 * * MON-FRI') or every (e.g. 'PT1H')")
        if self.cron is not None:
            if not self.cron.strip() or len(self.cron) > MAX_CRON_LENGTH or not self.cron.isprintable():
                raise ScheduleRefused("cron: write a cron expression such as '*/15 * * * *'")
            return ScheduleSpec(cron_expressions=[self.cron])
        assert self.every is not None
        try:
            every = parse_duration(self.every)
        except ValueError:
            raise ScheduleRefused(
                f"every: '{self.every}' is not an ISO 8601 duration; write e.g. 'PT1H'"
            ) from None
        if every < MIN_INTERVAL:
            raise ScheduleRefused("every: must be at least PT1S")
        return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)])

    def policy(self) -> SchedulePolicy:
        if self.overlap not in OVERLAP_POLICIES:
            raise ScheduleRefused(f"overlap: '{self.overlap}' is not one of {', '.join(OVERLAP_POLICIES)}")
        return SchedulePolicy(overlap=OVERLAP_POLICIES[self.overlap])


def build_schedule(request: ScheduleRequest, task_queue: str) -> tuple[Schedule, TypedSearchAttributes]:
    launch = launch_for(request.definition, request.run_input, request.tenant_id)
    action = ScheduleActionStartWorkflow(
        WORKFLOW_TYPE,
        launch.request,
        id=request.schedule_id,
        task_queue=task_queue,
        memo={**launch.memo, **request.extra_memo},
        typed_search_attributes=launch.search_attributes,
        static_summary=f"{launch.static_summary} (schedule {request.schedule_id})",
        static_details=launch.static_details,
    )
    pairs = [SearchAttributePair(SEGMENT_ID, launch.segment_id)]
    if request.tenant_id:
        pairs.append(SearchAttributePair(TENANT_ID, request.tenant_id))
    state = ScheduleState(paused=request.paused, note=request.note or "created by segments")
    return Schedule(
        action=action, spec=request.spec(), policy=request.policy(), state=state
    ), TypedSearchAttributes(pairs)


async def create_schedule(client: Client, task_queue: str, request: ScheduleRequest) -> None:
    schedule, attributes = build_schedule(request, task_queue)
    await client.create_schedule(request.schedule_id, schedule, search_attributes=attributes)


def describe(description: ScheduleDescription) -> dict[str, Any]:
    """A schedule as the CLI and the gateway show it."""
    schedule = description.schedule
    action = schedule.action
    request: dict[str, Any] = {}
    if isinstance(action, ScheduleActionStartWorkflow) and action.args:
        first = action.args[0]
        request = first if isinstance(first, dict) else {}
    segment = request.get("segment") if isinstance(request.get("segment"), dict) else {}
    spec = schedule.spec
    info = description.info
    return {
        "schedule_id": description.id,
        "segment_id": description.typed_search_attributes.get(SEGMENT_ID),
        "segment_version": segment.get("version") if segment else None,
        "tenant_id": description.typed_search_attributes.get(TENANT_ID),
        "input": request.get("input"),
        "cron": list(spec.cron_expressions),
        "every": [format_duration(interval.every) for interval in spec.intervals],
        "overlap": _overlap_name(schedule.policy.overlap),
        "paused": schedule.state.paused,
        "note": schedule.state.note,
        "next_runs": [t.isoformat() for t in info.next_action_times[:5]],
        "recent_runs": [
            {
                "run_id": result.action.workflow_id
                if isinstance(result.action, ScheduleActionExecutionStartWorkflow)
                else None,
                "scheduled_at": result.scheduled_at.isoformat(),
                "started_at": result.started_at.isoformat(),
            }
            for result in info.recent_actions
        ],
        "running": [
            execution.workflow_id
            for execution in info.running_actions
            if isinstance(execution, ScheduleActionExecutionStartWorkflow)
        ],
        "runs_total": info.num_actions,
    }


def _overlap_name(policy: ScheduleOverlapPolicy) -> str:
    for name, value in OVERLAP_POLICIES.items():
        if value == policy:
            return name
    return "skip"  # the server's default (unspecified)


async def list_schedules(
    client: Client, tenant_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Schedules that start segments (those carrying `SegmentId`), of one tenant when given."""
    found: list[dict[str, Any]] = []
    async for entry in await client.list_schedules():
        attributes = entry.typed_search_attributes
        segment_id = attributes.get(SEGMENT_ID)
        if segment_id is None or (tenant_id is not None and attributes.get(TENANT_ID) != tenant_id):
            continue
        state = entry.schedule.state if entry.schedule else None
        found.append(
            {
                "schedule_id": entry.id,
                "segment_id": segment_id,
                "tenant_id": attributes.get(TENANT_ID),
                "paused": bool(state and state.paused),
                "next_runs": [
                    t.isoformat() for t in (entry.info.next_action_times[:1] if entry.info else [])
                ],
            }
        )
        if len(found) >= limit:
            break
    return found
