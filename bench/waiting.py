"""Open runs waiting on an approval: started in bulk, and known to be waiting before timing starts."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowHandle

from bench.context import BenchContext
from bench.definitions import approval_segment
from bench.handwritten import ApprovalInput, HandApproval

READY_TIMEOUT_S = 300.0


async def start_engine(ctx: BenchContext, queue: str | None = None) -> WorkflowHandle[Any, Any]:
    return await ctx.start_segment(approval_segment(), {"id": "A-1"}, "approval", queue)


async def start_hand(
    ctx: BenchContext, queue: str | None = None, local: bool = False
) -> WorkflowHandle[Any, Any]:
    return await ctx.client.start_workflow(
        HandApproval.run,
        ApprovalInput({"id": "A-1"}, local),
        id=ctx.new_id("approval-hand"),
        task_queue=queue or ctx.hand_queue,
    )


async def is_waiting(handle: WorkflowHandle[Any, Any], engine: bool) -> bool:
    try:
        if engine:
            status = await handle.query("status")
            return bool(status["open_tasks"])
        return bool(await handle.query(HandApproval.waiting))
    except Exception:  # no workflow task processed yet: not waiting yet
        return False


async def wait_until_waiting(
    handles: list[WorkflowHandle[Any, Any]], engine: bool, concurrency: int = 20
) -> None:
    """Returns once every run has its task open (engine) or waits in its update (hand-written)."""
    gate = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S

    async def one(handle: WorkflowHandle[Any, Any]) -> None:
        while True:
            async with gate:
                if await is_waiting(handle, engine):
                    return
            if loop.time() > deadline:
                raise TimeoutError(f"{handle.id} is not waiting after {READY_TIMEOUT_S} s")
            await asyncio.sleep(0.2)

    await asyncio.gather(*(one(h) for h in handles))


async def start_many(
    ctx: BenchContext,
    engine: bool,
    count: int,
    queue: str | None = None,
    concurrency: int = 50,
    local: bool = False,
) -> list[WorkflowHandle[Any, Any]]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> WorkflowHandle[Any, Any]:
        async with gate:
            return await (start_engine(ctx, queue) if engine else start_hand(ctx, queue, local))

    return list(await asyncio.gather(*(one() for _ in range(count))))
