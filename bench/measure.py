"""Timing helpers: percentiles, runs started and awaited together, history sizes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

Starter = Callable[[int], Awaitable[WorkflowHandle[Any, Any]]]
"""Starts run number i and returns its handle."""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


@dataclass
class Batch:
    """Runs started at once and awaited: the batch's wall time and each run's latency."""

    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    handles: list[WorkflowHandle[Any, Any]] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)


async def run_batch(start: Starter, runs: int) -> Batch:
    """Starts `runs` runs at once; latency of each is from its start call to its result."""
    batch = Batch()

    async def one(i: int) -> None:
        began = time.perf_counter()
        handle = await start(i)
        result = await handle.result()
        batch.latencies.append(time.perf_counter() - began)
        batch.handles.append(handle)
        batch.results.append(result)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(runs)))
    batch.wall = time.perf_counter() - began
    return batch


async def history_events(handles: Sequence[WorkflowHandle[Any, Any]]) -> int:
    """The events of these runs' histories, all together."""
    counts = await asyncio.gather(*(_count(h) for h in handles))
    return sum(counts)


async def _count(handle: WorkflowHandle[Any, Any]) -> int:
    return len((await handle.fetch_history()).events)


async def terminate_all(client: Client, workflow_ids: Sequence[str], concurrency: int = 50) -> None:
    """Ends runs left open by a scenario, so that a shared server is left as it was."""
    gate = asyncio.Semaphore(concurrency)

    async def one(workflow_id: str) -> None:
        async with gate:
            with contextlib.suppress(RPCError):  # already closed: nothing to clean up
                await client.get_workflow_handle(workflow_id).terminate("benchmark done")

    await asyncio.gather(*(one(w) for w in workflow_ids))


def rotated(names: Sequence[str], round_index: int) -> list[str]:
    """The variants in a different order each round, so none always runs first."""
    shift = round_index % len(names)
    return [*names[shift:], *names[:shift]]
