"""Human tasks of a run: list them, answer one (the `respond` update)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from gateway.auth import Tenant
from gateway.deps import Client
from gateway.models import ErrorResponse, TaskAnswerBody, TaskAnswered, TaskList
from gateway.respond import respond
from gateway.runs_access import describe_run
from gateway.status_query import query_status
from workflows.contract import TaskAnswer, parse_answer

router = APIRouter(prefix="/runs/{run_id}/tasks", tags=["tasks"])

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
        404: {"model": ErrorResponse, "description": "no such run"},
        409: {"model": ErrorResponse, "description": "the task is closed, not open yet, or unknown"},
        422: {"model": ErrorResponse, "description": "the answer does not fit the task"},
        503: {"model": ErrorResponse, "description": "the run is open but stuck (its workflow task fails)"},
        504: {"model": ErrorResponse, "description": "no worker took the answer in time"},
    },
)
async def answer_task(
    run_id: str, task_id: str, body: TaskAnswerBody, client: Client, tenant: Tenant
) -> TaskAnswered:
    await describe_run(client, run_id, tenant)
    answer = parse_answer({"task_id": task_id, **body.model_dump(exclude_none=True)})
    if not isinstance(answer, TaskAnswer):
        raise HTTPException(422, answer.reason)
    result = await respond(client, run_id, answer)
    if result.outcome != "accepted":
        raise HTTPException(_STATUS[result.outcome], result.reason)
    return TaskAnswered(run_id=run_id, task_id=task_id, answer=result.answer or {})
