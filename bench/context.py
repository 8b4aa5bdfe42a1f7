"""What every scenario gets: the client, the workers' task queues, and the chosen sizes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHandle

from bench.workers import hand_worker
from client.api import SegmentsClient
from segments.builtin_types import default_catalog
from segments.catalog import Catalog
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
    catalog: Catalog = field(default_factory=default_catalog)

    def new_id(self, prefix: str) -> str:
        return f"bench-{prefix}-{uuid.uuid4().hex[:10]}"

    async def start_segment(
        self, segment: dict[str, Any], run_input: Any, prefix: str, queue: str | None = None
    ) -> WorkflowHandle[Any, Any]:
        """Starts a SegmentWorkflow as `SegmentsClient.start` does (the way the README starts runs):
        the contract's JSON request with the search attributes and the definition's memo set at
        start, so the run upserts neither. Validation is measured on its own (`start`)."""
        segments = SegmentsClient(self.client, queue or self.engine_queue, catalog=self.catalog)
        return await segments.start(segment, run_input, run_id=self.new_id(prefix), validate=False)


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
