"""Human tasks of a run: list them, answer one (the `respond` update)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, status

from gateway.auth import Caller, Tenant
from gateway.deps import Client, Settings
from gateway.models import ErrorResponse, TaskAnswerBody, TaskAnswered, TaskList
from gateway.respond import respond
from gateway.runs_access import describe_run
from gateway.status_query import query_status
from workflows.contract import TaskAnswer, parse_answer

router = APIRouter(prefix="/runs/{run_id}/tasks", tags=["tasks"])
log = logging.getLogger(__name__)

_STATUS = {"conflict": status.HTTP_409_CONFLICT, "invalid": 422, "unavailable": 504, "stuck": 503}


@router.get("", response_model=TaskList, responses={404: {"model": ErrorResponse}})
async def list_tasks(run_id: str, client: Client, tenant: Tenant) -> TaskList:
    await describe_run(client, run_id, tenant)
    view = await query_status(client, run_id)
    return TaskList(
        run_id=run_id, open_tasks=view.get("open_tasks") or [], closed_tasks=view.get("closed_tasks") or []
    )


@router.post(
    "/{task_id:path}",
    response_model=TaskAnswered,
    responses={
        403: {"model": ErrorResponse, "description": "this token may not answer as that responder"},
        404: {"model": ErrorResponse, "description": "no such run"},
        409: {"model": ErrorResponse, "description": "the task is closed, not open yet, or unknown"},
        422: {"model": ErrorResponse, "description": "the answer does not fit the task"},
        503: {"model": ErrorResponse, "description": "the run is open but stuck (its workflow task fails)"},
        504: {"model": ErrorResponse, "description": "no worker took the answer in time"},
    },
)
async def answer_task(
    run_id: str, task_id: str, body: TaskAnswerBody, client: Client, who: Caller, settings: Settings
) -> TaskAnswered:
    await describe_run(client, run_id, who.tenant)
    responder, refusal = who.responder_for(body.responder, settings.act_for)
    if responder is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
    fields = body.model_dump(exclude_none=True)
    answer = parse_answer({**fields, "task_id": task_id, "responder": responder})
    if not isinstance(answer, TaskAnswer):
        raise HTTPException(422, answer.reason)
    result = await respond(client, run_id, answer)
    log.info(
        "run %s task %s: answer by token '%s' as %s: %s",
        run_id,
        task_id,
        who.label,
        responder,
        result.outcome,
    )
    if result.outcome != "accepted":
        raise HTTPException(_STATUS[result.outcome], result.reason)
    return TaskAnswered(run_id=run_id, task_id=task_id, answer=result.answer or {})
