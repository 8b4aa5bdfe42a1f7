"""Where a worker spends its Python time on the linear scenario: cProfile on the workflow threads
(where activations and the sandbox run) and on the event loop (activities, conversion, client).

    python -m bench.profile [--address HOST:PORT] [--variant engine|local] [--runs 50] [--top 25]
                            [--callers REGEX]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import pstats
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client

from bench.definitions import linear_segment
from bench.handwritten import HandLinearLocal, LinearInput
from bench.scenarios.linear import STEPS
from bench.server import temporal
from bench.workers import hand_worker
from worker import running_worker


class ProfiledExecutor(ThreadPoolExecutor):
    """The worker's workflow-task threads, each with a profiler of its own."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()
        super().__init__(max_workers=4, initializer=self._start)

    def _start(self) -> None:
        profile = cProfile.Profile()
        with self._lock:
            self.profiles.append(profile)
        profile.enable()


def _report(title: str, profiles: list[cProfile.Profile], top: int, callers: str | None = None) -> str:
    out = io.StringIO()
    stats = pstats.Stats(*profiles, stream=out) if profiles else None
    if stats is None:
        return f"## {title}: nothing profiled\n"
    out.write(f"## {title}\n")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    if callers:
        stats.print_callers(callers)
    return out.getvalue()


async def _run_batch(client: Client, queue: str, variant: str, runs: int) -> None:
    async def one() -> Any:
        workflow_id = f"profile-{uuid.uuid4().hex[:10]}"
        if variant == "engine":
            request = {"segment": linear_segment(STEPS), "input": {"value": 0}}
            handle = await client.start_workflow("SegmentWorkflow", request, id=workflow_id, task_queue=queue)
        else:
            handle = await client.start_workflow(
                HandLinearLocal.run, LinearInput(STEPS), id=workflow_id, task_queue=queue
            )
        return await handle.result()

    await asyncio.gather(*(one() for _ in range(runs)))


async def profile(address: str | None, variant: str, runs: int, top: int, callers: str | None = None) -> str:
    async with temporal(address, "default") as (client, _):
        executor = ProfiledExecutor()
        queue = f"bench-profile-{uuid.uuid4().hex[:8]}"
        main = cProfile.Profile()
        context: contextlib.AbstractAsyncContextManager[Any] = (
            running_worker(client, queue, workflow_task_executor=executor)
            if variant == "engine"
            else hand_worker(client, queue, workflow_task_executor=executor)
        )
        async with context:
            await _run_batch(client, queue, variant, 4)  # warm-up, not profiled
            main.enable()
            await _run_batch(client, queue, variant, runs)
            main.disable()
        return _report(f"{variant}: workflow threads", executor.profiles, top, callers) + _report(
            f"{variant}: event loop thread", [main], top
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--address")
    parser.add_argument("--variant", choices=("engine", "local"), default="engine")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--callers", help="also print who calls the functions matching this regex")
    args = parser.parse_args()
    print(asyncio.run(profile(args.address, args.variant, args.runs, args.top, args.callers)))


if __name__ == "__main__":
    main()
