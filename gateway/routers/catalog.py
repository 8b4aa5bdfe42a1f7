"""The step catalog, definition validation and the definition's JSON Schema (no Temporal calls)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from gateway.auth import Tenant
from gateway.deps import Client
from gateway.models import ProblemModel, ValidationResult
from segments.models import SegmentDefinition

router = APIRouter(tags=["catalog"])


@router.get(
    "/health",
    summary="Whether the gateway runs and reaches Temporal (no token: for load balancers, canvases)",
    responses={503: {"description": "Temporal cannot be reached"}},
)
async def health(client: Client) -> JSONResponse:
    try:
        reachable = await client.temporal.service_client.check_health()
    except RPCError:
        reachable = False
    return JSONResponse(
        {"status": "ok" if reachable else "temporal unreachable"}, status_code=200 if reachable else 503
    )


@router.get("/catalog", summary="The step catalog for canvas editors (export_for_ui)")
async def catalog(client: Client, tenant: Tenant) -> dict[str, Any]:
    return client.export_catalog()


@router.post(
    "/segments/validate",
    response_model=ValidationResult,
    summary="Every problem of a definition, each with its path (200 whether valid or not)",
)
async def validate(client: Client, tenant: Tenant, definition: Annotated[Any, Body()]) -> ValidationResult:
    problems = client.validate(definition)
    return ValidationResult(
        valid=not problems, problems=[ProblemModel(path=p.path, message=p.message) for p in problems]
    )


@router.get("/segments/schema", summary="The JSON Schema of a SegmentDefinition")
async def schema(tenant: Tenant) -> dict[str, Any]:
    return SegmentDefinition.json_schema()
