"""Which step catalog a workflow validates and runs against: its worker's, by task queue.

Each worker's `SegmentsPlugin` (worker.py) registers its catalog for the task queue it polls while
it runs, so two workers in one process (tests, a worker per tenant queue) each keep their own; a
second worker on the same queue with another catalog is refused instead of silently replacing the
first. The `Replayer` has no task queue of its own: the plugin registers its catalog as the
catalog for replay. This module is passed through Temporal's sandbox with the workflow code (it
is imported inside `imports_passed_through`), so worker and workflows see the same registry.

Removing a type while runs that use it are in flight breaks their replay, exactly like removing
an activity: keep types registered until those runs end.
"""

from __future__ import annotations

from temporalio import workflow

from segments.builtin_types import default_catalog
from segments.catalog import Catalog

_by_queue: dict[str, Catalog] = {}
_for_replay: list[Catalog] = []


def register(task_queue: str, catalog: Catalog) -> None:
    existing = _by_queue.get(task_queue)
    if existing is not None and existing is not catalog:
        raise ValueError(
            f"another worker in this process already polls task queue '{task_queue}' with its own "
            "step catalog; run one worker per task queue"
        )
    _by_queue[task_queue] = catalog


def unregister(task_queue: str, catalog: Catalog) -> None:
    if _by_queue.get(task_queue) is catalog:
        del _by_queue[task_queue]


def use_for_replay(catalog: Catalog) -> None:
    """The catalog of the histories a `Replayer` replays (the latest one set wins)."""
    _for_replay.append(catalog)


def worker_catalog() -> Catalog:
    """The catalog of the worker running this workflow (call from workflow code only)."""
    found = _by_queue.get(workflow.info().task_queue)
    if found is not None:
        return found
    return _for_replay[-1] if _for_replay else default_catalog()
