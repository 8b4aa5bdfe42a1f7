"""A run whose workflow task keeps failing is open, not closed: the gateway says it is stuck (review L5)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from client.api import SegmentsClient
from gateway import GatewaySettings, create_app
from tests.gateway_support import APPROVAL_SEGMENT, BIG_ORDER, eventually


@workflow.defn(name="SegmentWorkflow")
class WorkflowTaskAlwaysFails:
    """Stands in for a worker with a bug: every workflow task raises, so Temporal retries it for ever."""

    @workflow.run
    async def run(self, request: dict[str, Any]) -> None:
        raise RuntimeError("a bug in this worker's build")


async def _failed_attempts(segments: SegmentsClient, run_id: str) -> int:
    description = await segments.handle(run_id).describe()
    return int(description.raw_description.pending_workflow_task.attempt)


async def test_answering_a_run_whose_workflow_task_fails_is_503_stuck_not_409_closed(client: Client) -> None:
    queue = f"stuck-{uuid.uuid4().hex[:8]}"
    segments = SegmentsClient(client, queue)
    app = create_app(GatewaySettings(tokens={"tok-acme": "acme/alice"}), segments)
    async with Worker(
        client,
        task_queue=queue,
        workflows=[WorkflowTaskAlwaysFails],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", headers={"Authorization": "Bearer tok-acme"}
        ) as http:
            started = await http.post("/runs", json={"segment": APPROVAL_SEGMENT, "input": BIG_ORDER})
            assert started.status_code == 201, started.text
            run_id = started.json()["run_id"]
            assert await eventually(lambda: _is_failing(segments, run_id), timeout=60)
            answer = await http.post(
                f"/runs/{run_id}/tasks/approve", json={"responder": "alice", "decision": "approve"}
            )
    assert answer.status_code == 503, answer.text
    assert "stuck" in answer.json()["detail"] and "closed" not in answer.json()["detail"]


async def _is_failing(segments: SegmentsClient, run_id: str) -> bool:
    return await _failed_attempts(segments, run_id) >= 2
