"""A run as seen by one tenant: a run of another tenant, or none at all, is the same 404."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from temporalio.client import WorkflowExecutionDescription, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from client.api import WORKFLOW_TYPE, SegmentsClient
from workflows.search_attributes import TENANT_ID


def not_found(run_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no run '{run_id}'")


async def describe_run(
    client: SegmentsClient, run_id: str, tenant: str | None
) -> WorkflowExecutionDescription:
    """The run's description, if it is a segment run of `tenant` (any tenant when None)."""
    try:
        description = await client.handle(run_id).describe()
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise not_found(run_id) from None
        raise
    if description.workflow_type != WORKFLOW_TYPE:
        raise not_found(run_id)
    if tenant is not None and description.typed_search_attributes.get(TENANT_ID) != tenant:
        raise not_found(run_id)
    return description


async def tenant_run(client: SegmentsClient, run_id: str, tenant: str) -> WorkflowHandle[Any, Any]:
    await describe_run(client, run_id, tenant)
    return client.handle(run_id)
