"""Definitions as Mermaid flowcharts: a posted definition, or the one a run is pinned to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel

from gateway.auth import Tenant
from gateway.deps import Client
from gateway.models import ErrorResponse
from gateway.runs_access import describe_run
from gateway.ui.run_history import pinned_definition
from segments.mermaid import CannotDraw, draw_any

router = APIRouter(tags=["graph"])


class Diagram(BaseModel):
    segment_id: str
    mermaid: str


def diagram(data: Any) -> Diagram:
    try:
        segment_id, text = draw_any(data)
    except CannotDraw as err:
        raise HTTPException(422, f"{err}; `POST /segments/validate` lists every problem") from None
    return Diagram(segment_id=segment_id, mermaid=text)


@router.post(
    "/segments/graph",
    response_model=Diagram,
    summary="A posted definition (the body, as for /segments/validate; an llmteam export is drawn as "
    "its translation) as a Mermaid flowchart",
    responses={422: {"model": ErrorResponse, "description": "the body is not a segment definition"}},
)
async def graph_of_definition(tenant: Tenant, definition: Annotated[Any, Body()]) -> Diagram:
    return diagram(definition)


@router.get(
    "/runs/{run_id}/graph",
    response_model=Diagram,
    summary="The definition the run is pinned to, as a Mermaid flowchart",
    responses={404: {"model": ErrorResponse}},
)
async def graph_of_run(run_id: str, client: Client, tenant: Tenant) -> Diagram:
    await describe_run(client, run_id, tenant)
    definition = await pinned_definition(client, run_id)
    if definition is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"run '{run_id}' holds no readable definition")
    return diagram(definition)
