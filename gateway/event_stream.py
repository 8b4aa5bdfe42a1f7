"""Following a run's history as it grows (long polls), as run events after a cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

from client.api import SegmentsClient
from gateway.history_events import Cursor, HistoryTranslator, RunEvent
from workflows.contract import STATUS_QUERY

LONG_POLL_TIMEOUT = timedelta(seconds=70)
STATUS_TIMEOUT = timedelta(seconds=5)
PAGE_SIZE = 500


async def follow_run(client: SegmentsClient, run_id: str, cursor: Cursor = (0, 0)) -> AsyncIterator[RunEvent]:
    """Every run event after `cursor`, live until the run closes (then the iterator ends)."""
    temporal = client.temporal

    async def status() -> dict[str, Any] | None:
        try:
            view: dict[str, Any] = await client.handle(run_id).query(STATUS_QUERY, rpc_timeout=STATUS_TIMEOUT)
        except (TimeoutError, Exception):  # no worker: markers and activities only
            return None
        return view

    translator = HistoryTranslator(run_id, temporal.data_converter.decode, status)
    token = b""
    while True:
        request = GetWorkflowExecutionHistoryRequest(
            namespace=temporal.namespace,
            execution=WorkflowExecution(workflow_id=run_id),
            next_page_token=token,
            wait_new_event=True,
            maximum_page_size=PAGE_SIZE,
        )
        response = await temporal.workflow_service.get_workflow_execution_history(
            request, retry=True, timeout=LONG_POLL_TIMEOUT
        )
        translator.page += 1
        for event in response.history.events:
            for run_event in await translator.feed(event):
                if run_event.after(cursor):
                    yield run_event
        for run_event in await translator.flush():
            if run_event.after(cursor):
                yield run_event
        if not response.next_page_token:
            return
        token = response.next_page_token
