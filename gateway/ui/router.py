"""`/ui/runs/{id}`: the run page and the small JSON/SSE endpoints its script calls.

The page is one HTML file with a script and a stylesheet from `gateway/ui/assets` (served under
`/ui/assets`): no build step, nothing fetched from elsewhere, and a Content-Security-Policy that
allows only this origin.
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from client.ui_links import MAX_TICKET_LENGTH
from gateway.deps import Client, Settings
from gateway.event_stream import follow_run
from gateway.history_events import parse_cursor
from gateway.models import TaskAnswerBody
from gateway.respond import respond
from gateway.runs_access import describe_run
from gateway.ui.run_history import RunHistory, pinned_definition
from gateway.ui.session import (
    COOKIE,
    Viewer,
    from_link,
    page_path,
    require_page_header,
    store_session,
    viewer,
)
from gateway.ui.state import FinishedStates, definition_of, run_state, step_detail
from segments.layout import layout
from workflows.contract import TaskAnswer, parse_answer

ASSETS = Path(__file__).parent / "assets"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_ANSWER_STATUS = {"conflict": status.HTTP_409_CONFLICT, "invalid": 422, "unavailable": 504, "stuck": 503}


class PageAnswer(TaskAnswerBody):
    """An answer from the page: the responder is the page's user, never the request body's."""

    responder: str = "page"


router = APIRouter(prefix="/ui/runs", tags=["run page"])


async def _allowed(request: Request, client: Client, run_id: str) -> Viewer:
    who = viewer(request, run_id)
    await describe_run(client, run_id, who.tenant)
    return who


class SessionRequest(BaseModel):
    ticket: str = Field(min_length=1, max_length=MAX_TICKET_LENGTH)


@router.get("/{run_id}", response_class=HTMLResponse, summary="The run page (HTML)")
async def run_page(run_id: str, request: Request, client: Client) -> HTMLResponse:
    """With a bearer token, only that tenant's run (else 404). Without any credential the page
    itself is served (it holds nothing but the id in its URL): its script logs in with the
    link's `#ticket=` fragment, or says how to get a link."""
    who: Viewer | None = None
    if request.headers.get("authorization") or request.cookies.get(COOKIE):
        try:
            who = await _allowed(request, client, run_id)
        except HTTPException as err:
            if err.status_code != status.HTTP_401_UNAUTHORIZED:
                raise
    boot = json.dumps({"run_id": run_id, "base": page_path(run_id)})
    text = (ASSETS / "run.html").read_text().replace("{{BOOT}}", html.escape(boot, quote=True))
    text = text.replace("{{RUN_ID}}", html.escape(run_id))
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    response = HTMLResponse(text, headers=headers)
    if who is not None:
        store_session(response, request, who)
    return response


@router.post("/{run_id}/session", summary="Exchange a link's ticket for the page's session cookie")
async def session(run_id: str, body: SessionRequest, request: Request, client: Client) -> JSONResponse:
    require_page_header(request)
    who = from_link(request, run_id, body.ticket)
    await describe_run(client, run_id, who.tenant)
    response = JSONResponse({"run_id": run_id, "user": who.user})
    store_session(response, request, who)
    return response


@router.get("/{run_id}/graph", summary="The run's pinned definition, laid out for drawing")
async def run_graph(run_id: str, request: Request, client: Client) -> dict[str, Any]:
    await _allowed(request, client, run_id)
    history = RunHistory(definition=await pinned_definition(client, run_id))
    definition = definition_of(history, run_id)
    return {
        "segment_id": definition.segment_id,
        "name": definition.name,
        "version": definition.version,
        "layout": layout(definition).to_dict(),
    }


@router.get("/{run_id}/state", summary="Each step's state and visits, open tasks, links")
async def state(run_id: str, request: Request, client: Client) -> dict[str, Any]:
    who = viewer(request, run_id)
    description = await describe_run(client, run_id, who.tenant)
    finished: FinishedStates | None = getattr(request.app.state, "ui_finished_states", None)
    if finished is None:
        finished = request.app.state.ui_finished_states = FinishedStates()
    return await run_state(client, run_id, description, who.user, finished)


@router.get("/{run_id}/steps/{step_id}", summary="One step: config, visits, timing, output or error")
async def step(run_id: str, step_id: str, request: Request, client: Client) -> dict[str, Any]:
    await _allowed(request, client, run_id)
    return await step_detail(client, run_id, step_id)


@router.get("/{run_id}/events", response_class=EventSourceResponse, summary="The run's events (SSE)")
async def events(
    run_id: str,
    request: Request,
    client: Client,
    settings: Settings,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> EventSourceResponse:
    await _allowed(request, client, run_id)
    cursor = parse_cursor(last_event_id)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for event in follow_run(client, run_id, cursor):
            yield ServerSentEvent(data=json.dumps(event.data, default=str), event=event.type, id=event.sse_id)

    return EventSourceResponse(stream(), ping=settings.sse_ping_seconds)


@router.post("/{run_id}/tasks/{task_id:path}", summary="Answer a task as the page's user")
async def answer(
    run_id: str,
    task_id: str,
    request: Request,
    client: Client,
    body: PageAnswer,
) -> JSONResponse:
    require_page_header(request)
    who = await _allowed(request, client, run_id)
    if not who.user:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this page was opened without a user name; open it with `segments open RUN_ID --as NAME`",
        )
    answer = parse_answer({**body.model_dump(exclude_none=True), "task_id": task_id, "responder": who.user})
    if not isinstance(answer, TaskAnswer):
        return JSONResponse({"detail": answer.reason}, status_code=422)
    result = await respond(client, run_id, answer)
    if result.outcome != "accepted":
        return JSONResponse({"detail": result.reason}, status_code=_ANSWER_STATUS[result.outcome])
    return JSONResponse({"run_id": run_id, "task_id": task_id, "answer": result.answer or {}})
