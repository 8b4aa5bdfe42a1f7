"""Start, list, watch and control runs. Every answer comes from Temporal.

`GET /runs/{id}/result` answers 200 with the result once the run completed, 202 (with its
phase) while it runs, and 409 (with the error) when it failed, was cancelled or terminated.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from client.api import check_run_options
from gateway.auth import Tenant
from gateway.definitions import load_definition
from gateway.deps import Client, Settings
from gateway.models import (
    ActionAccepted,
    ErrorResponse,
    InvalidDefinition,
    RunList,
    RunResult,
    RunStatus,
    StartRunRequest,
    StartRunResponse,
)
from gateway.runs_access import describe_run, tenant_run
from gateway.status_query import query_status
from segments.hashing import definition_hash
from segments.validation import InvalidSegment
from workflows.contract import PAUSE_SIGNAL, RESUME_SIGNAL, Phase
from workflows.search_attributes import SEGMENT_PHASE

router = APIRouter(prefix="/runs", tags=["runs"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "no such run"}}


def idempotent_run_id(segment_id: str, tenant: str, key: str) -> str:
    """The same (tenant, key) always names the same workflow id, so a retried POST starts one run."""
    digest = hashlib.sha256(f"{tenant}\x00{key}".encode()).hexdigest()[:24]
    return f"{segment_id[:64]}-{digest}"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StartRunResponse,
    responses={
        200: {"model": StartRunResponse, "description": "the run this Idempotency-Key already started"},
        404: {"model": ErrorResponse, "description": "no such stored segment"},
        409: {"model": ErrorResponse, "description": "the Idempotency-Key was used for another segment"},
        422: {"model": InvalidDefinition, "description": "the definition is not valid"},
    },
)
async def start_run(
    body: StartRunRequest,
    client: Client,
    settings: Settings,
    tenant: Tenant,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> StartRunResponse | JSONResponse:
    definition = body.segment if body.segment is not None else None
    if definition is None:
        assert body.segment_ref is not None
        definition = load_definition(settings.definitions_dir, body.segment_ref)
    segment_id = str(definition.get("segment_id", "segment"))
    run_id = idempotent_run_id(segment_id, tenant, idempotency_key) if idempotency_key else None
    if body.options:
        try:
            check_run_options(body.options)
        except ValueError as err:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"options: {err}") from None
    try:
        handle = await client.start(
            definition, body.input, tenant_id=tenant, run_id=run_id, options=body.options
        )
    except InvalidSegment as err:
        return JSONResponse(
            InvalidDefinition(
                detail=str(err).splitlines()[0],
                problems=[p.to_dict() for p in err.problems],
            ).model_dump(),
            status_code=422,
        )
    except WorkflowAlreadyStartedError:
        assert run_id is not None
        description = await describe_run(client, run_id, tenant)
        memo = await description.memo()
        if memo.get("segment_hash") != definition_hash(definition):
            raise HTTPException(
                status.HTTP_409_CONFLICT, "this Idempotency-Key already started a run of another segment"
            ) from None
        response.status_code = status.HTTP_200_OK
        return StartRunResponse(
            run_id=run_id, created=False, segment_id=segment_id, web_ui=client.web_ui_link(run_id)
        )
    return StartRunResponse(
        run_id=handle.id, created=True, segment_id=segment_id, web_ui=client.web_ui_link(handle.id)
    )


RunPhase = Phase


@router.get("", response_model=RunList)
async def list_runs(
    client: Client,
    tenant: Tenant,
    segment: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
    phase: Annotated[RunPhase | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RunList:
    runs = await client.list_runs(segment_id=segment, tenant_id=tenant, phase=phase, limit=limit)
    return RunList(runs=runs)


@router.get("/{run_id}", response_model=RunStatus, responses=NOT_FOUND)
async def run_status(run_id: str, client: Client, tenant: Tenant) -> RunStatus:
    description = await describe_run(client, run_id, tenant)
    status_view = await query_status(client, run_id)
    temporal_status = description.status.name.lower() if description.status else "unknown"
    return RunStatus(**{**status_view, "run_id": run_id, "temporal_status": temporal_status})


_CLOSED_FAILED = {
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}


@router.get(
    "/{run_id}/result",
    response_model=RunResult,
    responses={
        202: {"model": RunResult, "description": "the run is still running; ask again later"},
        409: {"model": RunResult, "description": "the run failed, was cancelled or terminated"},
        **NOT_FOUND,
    },
)
async def run_result(run_id: str, client: Client, tenant: Tenant) -> RunResult | JSONResponse:
    description = await describe_run(client, run_id, tenant)
    state = description.status
    if state in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW, None):
        phase = description.typed_search_attributes.get(SEGMENT_PHASE) or "running"
        return JSONResponse(RunResult(run_id=run_id, phase=phase).model_dump(), status_code=202)
    try:
        result = await client.result(run_id)
    except WorkflowFailureError as err:
        cause = err.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        phase = _CLOSED_FAILED.get(state, "failed") if state else "failed"
        return JSONResponse(
            RunResult(run_id=run_id, phase=phase, error=message).model_dump(), status_code=409
        )
    return RunResult(run_id=run_id, phase="completed", result=result)


async def _signal_or_cancel(client: Client, run_id: str, tenant: str, action: str) -> ActionAccepted:
    handle = await tenant_run(client, run_id, tenant)
    try:
        if action == "cancel":
            await handle.cancel()
        else:
            await handle.signal(PAUSE_SIGNAL if action == "pause" else RESUME_SIGNAL)
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise HTTPException(status.HTTP_409_CONFLICT, f"run '{run_id}' is closed") from None
        raise
    return ActionAccepted(run_id=run_id, action=action)


_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "the run is closed"},
    **NOT_FOUND,
}


@router.post("/{run_id}/cancel", status_code=202, response_model=ActionAccepted, responses=_ACTION_RESPONSES)
async def cancel_run(run_id: str, client: Client, tenant: Tenant) -> ActionAccepted:
    return await _signal_or_cancel(client, run_id, tenant, "cancel")


@router.post("/{run_id}/pause", status_code=202, response_model=ActionAccepted, responses=_ACTION_RESPONSES)
async def pause_run(run_id: str, client: Client, tenant: Tenant) -> ActionAccepted:
    return await _signal_or_cancel(client, run_id, tenant, "pause")


@router.post("/{run_id}/resume", status_code=202, response_model=ActionAccepted, responses=_ACTION_RESPONSES)
async def resume_run(run_id: str, client: Client, tenant: Tenant) -> ActionAccepted:
    return await _signal_or_cancel(client, run_id, tenant, "resume")
