"""A worker alone in its own process, so that its resident memory can be measured cleanly.

    python -m bench.memory_worker --address HOST:PORT --task-queue Q --kind engine|hand

Prints `ready` once polling. Each `rss` line on stdin: collects garbage, prints VmRSS in kB
(from /proc/self/status). Stops at the end of stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
from collections.abc import AsyncIterator

from temporalio.client import Client
from temporalio.worker import Worker


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


@contextlib.asynccontextmanager
async def _worker(client: Client, task_queue: str, kind: str) -> AsyncIterator[Worker]:
    if kind == "engine":
        from worker import running_worker  # only the engine's process imports the engine

        async with running_worker(client, task_queue) as engine:
            yield engine
    else:
        from bench.workers import hand_worker

        async with hand_worker(client, task_queue) as hand:
            yield hand


async def serve(address: str, namespace: str, task_queue: str, kind: str) -> None:
    client = await Client.connect(address, namespace=namespace)
    loop = asyncio.get_running_loop()
    async with _worker(client, task_queue, kind):
        print("ready", flush=True)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            if line.strip() == "rss":
                gc.collect()
                print(rss_kb(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--kind", choices=("engine", "hand"), required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.namespace, args.task_queue, args.kind))


if __name__ == "__main__":
    main()
