"""The hand-written workflows' worker: the SDK's default sandbox, the engine worker's other options."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from bench import handwritten


def hand_worker(client: Client, task_queue: str, **worker_options: Any) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=handwritten.WORKFLOWS,
        activities=handwritten.ACTIVITIES,
        graceful_shutdown_timeout=timedelta(seconds=30),
        **worker_options,
    )
