"""`POST /runs/{run_id}/redrive`: continue a failed run from the step that failed (client/redrive.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from client.redrive import RedriveRefused, redrive
from gateway.auth import Tenant
from gateway.deps import Client
from gateway.models import ErrorResponse
from gateway.operator_models import RedriveResponse
from gateway.runs_access import describe_run

router = APIRouter(prefix="/runs", tags=["runs"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such run"},
    409: {"model": ErrorResponse, "description": "the run has not failed, or failed before any step"},
}


@router.post("/{run_id}/redrive", response_model=RedriveResponse, responses=RESPONSES)
async def redrive_run(run_id: str, client: Client, tenant: Tenant) -> RedriveResponse:
    await describe_run(client, run_id, tenant)
    try:
        done = await redrive(client.temporal, run_id, reason=f"redrive requested by tenant {tenant}")
    except RedriveRefused as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
    return RedriveResponse(run_id=run_id, failed_step=done.failed_step, temporal_run_id=done.new_temporal_run)
