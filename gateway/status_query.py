"""The run's `status` query, with a clear 503/504 when no worker answers it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import HTTPException, status
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from client.api import SegmentsClient
from workflows.contract import STATUS_QUERY, RunStatus

QUERY_TIMEOUT = timedelta(seconds=10)


async def query_status(client: SegmentsClient, run_id: str) -> RunStatus:
    try:
        result: RunStatus = await client.handle(run_id).query(STATUS_QUERY, rpc_timeout=QUERY_TIMEOUT)
    except WorkflowQueryFailedError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"the status query failed: {err}") from None
    except (TimeoutError, RPCError) as err:
        if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run '{run_id}'") from None
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT, "no worker answered the status query; is a worker running?"
        ) from None
    return result
