"""memory: resident memory of a worker process holding many open runs waiting on an approval,
engine vs `HandApproval`; each worker runs alone in a subprocess (`bench.memory_worker`)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

from bench.context import BenchContext
from bench.measure import terminate_all
from bench.report import Row, ScenarioResult, ratio
from bench.waiting import start_many, wait_until_waiting

REPO = Path(__file__).resolve().parents[2]
IDLE_TARGET = 1.5
"""Idle engine worker RSS over the hand-written one's: the engine imports provider SDKs lazily."""


class WorkerProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self) -> str:
        """The worker's next protocol line (`ready` or a number), past any log line the SDK's
        core writes to the same stdout (a busy machine makes it warn about slow workflow tasks)."""
        assert self.process.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), timeout=120)
            if not raw:
                raise RuntimeError("the memory worker exited early")
            text = raw.decode().strip()
            if text == "ready" or text.isdigit():
                return text

    async def rss_kb(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.write(b"rss\n")
        await self.process.stdin.drain()
        return int(await self.line())

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def _spawn(ctx: BenchContext, kind: str, queue: str) -> WorkerProcess:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.memory_worker",
        "--address",
        ctx.address,
        "--namespace",
        ctx.namespace,
        "--task-queue",
        queue,
        "--kind",
        kind,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    worker = WorkerProcess(process)
    if await worker.line() != "ready":
        raise RuntimeError("the memory worker did not start")
    return worker


async def _measure(ctx: BenchContext, engine: bool, count: int) -> dict[str, Any]:
    queue = f"bench-memory-{uuid.uuid4().hex[:8]}"
    worker = await _spawn(ctx, "engine" if engine else "hand", queue)
    started: list[str] = []
    try:
        warm = await start_many(ctx, engine, 2, queue)  # imports and first sandboxes done before the baseline
        started += [h.id for h in warm]
        await wait_until_waiting(warm, engine)
        await terminate_all(ctx.client, [h.id for h in warm])
        await asyncio.sleep(1)
        baseline = await worker.rss_kb()
        handles = await start_many(ctx, engine, count, queue)
        started += [h.id for h in handles]
        await wait_until_waiting(handles, engine)
        holding = await worker.rss_kb()
    finally:
        await terminate_all(ctx.client, started)
        await worker.stop()
    return {
        "baseline_mb": round(baseline / 1024, 1),
        "holding_mb": round(holding / 1024, 1),
        "per_run_kb": round((holding - baseline) / count, 1),
    }


async def run(ctx: BenchContext) -> ScenarioResult:
    count = 10 if ctx.quick else 1000
    eng = await _measure(ctx, True, count)
    hand = await _measure(ctx, False, count)
    ratios = {
        "holding": ratio(eng["holding_mb"], hand["holding_mb"]),
        "per_run": ratio(eng["per_run_kb"], hand["per_run_kb"]),
    }
    rows = [
        Row(f"worker RSS MB, {count} open runs", eng["holding_mb"], hand["holding_mb"], ratios["holding"]),
        Row("RSS per open run KB", eng["per_run_kb"], hand["per_run_kb"], ratios["per_run"]),
        Row(
            "worker RSS MB, idle (baseline)",
            eng["baseline_mb"],
            hand["baseline_mb"],
            ratio(eng["baseline_mb"], hand["baseline_mb"]),
            f"≤ {IDLE_TARGET}",
            (ratio(eng["baseline_mb"], hand["baseline_mb"]) or 99) <= IDLE_TARGET,
        ),
    ]
    data = {"open_runs": count, "engine": eng, "handwritten": hand, "ratio": ratios}
    return ScenarioResult("memory", data, rows)
