"""Schedules over HTTP (client/schedules.py), each limited to the token's tenant: a schedule of
another tenant is the same 404 as none."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.responses import JSONResponse
from temporalio.client import ScheduleAlreadyRunningError, ScheduleHandle
from temporalio.service import RPCError, RPCStatusCode

from client.schedules import ScheduleRefused, ScheduleRequest, create_schedule, describe, list_schedules
from gateway.auth import Tenant
from gateway.definitions import load_definition
from gateway.deps import Client, Settings
from gateway.models import ErrorResponse, InvalidDefinition
from gateway.operator_models import ID_PATTERN, CreateScheduleRequest, ScheduleNote
from workflows.search_attributes import TENANT_ID

router = APIRouter(prefix="/schedules", tags=["schedules"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such schedule"}
}


def _not_found(schedule_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no schedule '{schedule_id}'")


async def _tenant_schedule(
    client: Client, schedule_id: str, tenant: str
) -> tuple[ScheduleHandle, dict[str, Any]]:
    if not _valid_id(schedule_id):
        raise _not_found(schedule_id)
    handle = client.temporal.get_schedule_handle(schedule_id)
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise _not_found(schedule_id) from None
        raise
    if description.typed_search_attributes.get(TENANT_ID) != tenant:
        raise _not_found(schedule_id)
    return handle, describe(description)


def _valid_id(value: str) -> bool:
    return re.fullmatch(ID_PATTERN, value) is not None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"model": ErrorResponse, "description": "a schedule of this id exists"},
        422: {"model": InvalidDefinition, "description": "the definition or the timing is not valid"},
    },
)
async def create(body: CreateScheduleRequest, client: Client, settings: Settings, tenant: Tenant) -> Any:
    definition = body.segment
    if definition is None:
        assert body.segment_ref is not None
        definition = load_definition(settings.definitions_dir, body.segment_ref)
    problems = client.validate(definition)
    if problems:
        return JSONResponse(
            InvalidDefinition(
                detail=f"the definition has {len(problems)} problem(s)",
                problems=[p.to_dict() for p in problems],
            ).model_dump(),
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    request = ScheduleRequest(
        schedule_id=body.schedule_id,
        definition=definition,
        run_input=body.input,
        tenant_id=tenant,
        cron=body.cron,
        every=body.every,
        overlap=body.overlap,
        paused=body.paused,
        note=body.note,
    )
    try:
        await create_schedule(client.temporal, client.task_queue, request)
    except ScheduleRefused as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(err)) from None
    except ScheduleAlreadyRunningError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"schedule '{body.schedule_id}' exists") from None
    except RPCError as err:
        if err.status == RPCStatusCode.INVALID_ARGUMENT:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"Temporal: {err.message}") from None
        raise
    _, described = await _tenant_schedule(client, body.schedule_id, tenant)
    return described


@router.get("")
async def list_all(client: Client, tenant: Tenant) -> dict[str, Any]:
    return {"schedules": await list_schedules(client.temporal, tenant)}


@router.get("/{schedule_id}", responses=NOT_FOUND)
async def get_one(schedule_id: str, client: Client, tenant: Tenant) -> dict[str, Any]:
    _, described = await _tenant_schedule(client, schedule_id, tenant)
    return described


@router.post("/{schedule_id}/pause", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def pause(
    schedule_id: str, client: Client, tenant: Tenant, body: ScheduleNote | None = None
) -> Response:
    handle, _ = await _tenant_schedule(client, schedule_id, tenant)
    await handle.pause(note=(body.note if body else "") or "paused through the gateway")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{schedule_id}/unpause", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def unpause(
    schedule_id: str, client: Client, tenant: Tenant, body: ScheduleNote | None = None
) -> Response:
    handle, _ = await _tenant_schedule(client, schedule_id, tenant)
    await handle.unpause(note=(body.note if body else "") or "unpaused through the gateway")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{schedule_id}/trigger", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def trigger(schedule_id: str, client: Client, tenant: Tenant) -> Response:
    handle, _ = await _tenant_schedule(client, schedule_id, tenant)
    await handle.trigger()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete(schedule_id: str, client: Client, tenant: Tenant) -> Response:
    handle, _ = await _tenant_schedule(client, schedule_id, tenant)
    await handle.delete()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
