"""`GET /runs/{id}/events`: the run's events as Server-Sent Events, read from its Temporal history.

Each event's `id:` is its history event id (`N`, or `N.k` for the k-th event of the workflow
task completed at event N); reconnect with `Last-Event-ID` (or `?after=`) to resume. The stream
ends after `run.finished`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from gateway.auth import Tenant
from gateway.deps import Client, Settings
from gateway.event_stream import follow_run
from gateway.history_events import parse_cursor
from gateway.models import ErrorResponse
from gateway.runs_access import describe_run

router = APIRouter(tags=["events"])

EVENT_TYPES = (
    "run.started, run.phase, run.paused, run.resumed, run.cancel_requested, run.finished, "
    "step.started, step.completed, step.failed, step.cancelled, branch.started, branch.completed, "
    "branch.failed, task.opened, task.answered, task.escalated, task.closed"
)


@router.get(
    "/runs/{run_id}/events",
    response_class=EventSourceResponse,
    summary="The run's events (SSE), live until it finishes",
    description=f"Event types: {EVENT_TYPES}. Each `data:` is a JSON object.",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "a stream of events"},
        404: {"model": ErrorResponse},
    },
)
async def run_events(
    run_id: str,
    client: Client,
    settings: Settings,
    tenant: Tenant,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    after: Annotated[str | None, Query(max_length=40, description="like Last-Event-ID")] = None,
) -> EventSourceResponse:
    await describe_run(client, run_id, tenant)
    cursor = parse_cursor(last_event_id or after)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for event in follow_run(client, run_id, cursor):
            yield ServerSentEvent(data=json.dumps(event.data, default=str), event=event.type, id=event.sse_id)

    return EventSourceResponse(stream(), ping=settings.sse_ping_seconds)
