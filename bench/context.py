"""What every scenario gets: the client, the workers' task queues, and the chosen sizes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowHandle

from bench.workers import hand_worker
from worker import running_worker


@dataclass
class BenchContext:
    client: Client
    address: str
    namespace: str
    engine_queue: str
    hand_queue: str
    idle_queue: str
    """A queue no worker polls: starts measured there run nothing."""
    quick: bool

    def new_id(self, prefix: str) -> str:
        return f"bench-{prefix}-{uuid.uuid4().hex[:10]}"

    async def start_segment(
        self, segment: dict[str, Any], run_input: Any, prefix: str, queue: str | None = None
    ) -> WorkflowHandle[Any, Any]:
        """Starts a SegmentWorkflow as any Temporal client would: the contract's JSON request."""
        return await self.client.start_workflow(
            "SegmentWorkflow",
            {"segment": segment, "input": run_input},
            id=self.new_id(prefix),
            task_queue=queue or self.engine_queue,
        )


@contextlib.asynccontextmanager
async def bench_context(
    client: Client, address: str, namespace: str, quick: bool
) -> AsyncIterator[BenchContext]:
    """Both workers in this process, each on its own fresh task queue, for the whole benchmark."""
    suffix = uuid.uuid4().hex[:8]
    context = BenchContext(
        client,
        address,
        namespace,
        f"bench-engine-{suffix}",
        f"bench-hand-{suffix}",
        f"bench-idle-{suffix}",
        quick,
    )
    async with running_worker(client, context.engine_queue), hand_worker(client, context.hand_queue):
        yield context
