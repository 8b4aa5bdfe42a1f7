"""workers: 1, 2 and 3 `python worker.py` processes on one task queue, as users scale out before
they outgrow a machine: steps/s of many linear runs at once, and what SIGKILLing one of three
workers mid-batch costs (wall time against the same batch with no kill).

On a 2-core machine more processes add no CPU: the figures say what the sharing costs, and that
a kill costs seconds (the dead worker's workflow tasks move after the sticky timeout, about 5 s,
and their local activities run again), never runs or steps."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from bench.context import BenchContext
from bench.definitions import linear_segment
from bench.measure import run_batch
from bench.report import Row, ScenarioResult, ratio

REPO = Path(__file__).resolve().parents[2]
STEPS = 10
COUNTS = (1, 2, 3)


def _runs(quick: bool) -> int:
    return 5 if quick else 60


def _counts(quick: bool) -> tuple[int, ...]:
    """Worker processes to measure; the smoke run starts fewer (each process takes seconds)."""
    return (1, 2) if quick else COUNTS


async def _start_workers(ctx: BenchContext, queue: str, count: int) -> list[asyncio.subprocess.Process]:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "worker.py",
            "--address",
            ctx.address,
            "--namespace",
            ctx.namespace,
            "--task-queue",
            queue,
            cwd=REPO,
            env={**os.environ, "SEGMENTS_PLUGINS": ""},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    deadline = time.monotonic() + 180
    while await _pollers(ctx, queue) < count:
        if time.monotonic() > deadline:
            await _stop(processes)
            raise RuntimeError(f"{count} worker processes did not all poll {queue}")
        await asyncio.sleep(0.3)
    return processes


async def _pollers(ctx: BenchContext, queue: str) -> int:
    response = await ctx.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=ctx.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len({p.identity for p in response.pollers})


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _batch(ctx: BenchContext, queue: str, runs: int, kill: asyncio.subprocess.Process | None) -> float:
    segment = linear_segment(STEPS)

    async def start(i: int) -> Any:
        return await ctx.start_segment(segment, {"value": 0}, "workers", queue=queue)

    async def killer() -> None:
        await asyncio.sleep(1.0)
        assert kill is not None
        kill.send_signal(signal.SIGKILL)

    kill_task = asyncio.create_task(killer()) if kill is not None else None
    batch = await run_batch(start, runs)
    if kill_task is not None:
        await kill_task
    expected = {"value": STEPS * (STEPS + 1) // 2}
    assert all(r == expected for r in batch.results), "a run computed something else"
    return batch.wall


async def run(ctx: BenchContext) -> ScenarioResult:
    runs = _runs(ctx.quick)
    steps_per_s: dict[int, float] = {}
    kill_wall = no_kill_wall = 0.0
    counts = _counts(ctx.quick)
    for count in counts:
        queue = f"bench-workers-{count}-{uuid.uuid4().hex[:6]}"
        processes = await _start_workers(ctx, queue, count)
        try:
            await _batch(ctx, queue, 2, None)  # warm-up
            wall = await _batch(ctx, queue, runs, None)
            steps_per_s[count] = round(runs * STEPS / wall, 2)
            if count == counts[-1]:
                no_kill_wall = wall
                kill_wall = await _batch(ctx, queue, runs, processes[0])
        finally:
            await _stop(processes)
    rows = [
        Row(
            f"{count} worker process(es): steps/s",
            steps_per_s[count],
            steps_per_s[1],
            ratio(steps_per_s[count], steps_per_s[1]),
        )
        for count in counts
    ]
    rows.append(
        Row(
            f"{counts[-1]} workers, one SIGKILLed: {runs} runs wall s",
            round(kill_wall, 1),
            round(no_kill_wall, 1),
            ratio(kill_wall, no_kill_wall),
        )
    )
    data = {
        "runs": runs,
        "steps": STEPS,
        "engine": {"steps_per_s": steps_per_s, "kill_wall_s": round(kill_wall, 2)},
        "handwritten": {"one_worker_steps_per_s": steps_per_s[1], "no_kill_wall_s": round(no_kill_wall, 2)},
        "ratio": {f"{c}_vs_1": ratio(steps_per_s[c], steps_per_s[1]) for c in counts}
        | {"kill_vs_no_kill": ratio(kill_wall, no_kill_wall)},
    }
    return ScenarioResult("workers", data, rows)
