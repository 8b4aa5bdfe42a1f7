"""The child's side of a batched map: run a batch's items, each on its own, and report each.

`SegmentBranchWorkflow` runs a `MapBatch` (workflows/map_batches.py says why maps are batched):
one interpreter per item, with the item's own scope (`enrich[7]/`: its `item`, `index`, task
ids and idempotency keys are those of a one-child-per-item map), at most `at_once` items at a
time. The result is one entry per item, in item order: `{"output": ...}`, `{"error": {...}}`
(where it failed, as a branch's failure reports it) or `{"cancelled": true}`. With
`stop_on_error` (the join's `on_branch_error: fail`) the first failed item cancels the items
still running and leaves the rest unstarted, so the parent fails the split at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from temporalio import workflow

from workflows.branch_input import MapBatch
from workflows.errors import StepFailure
from workflows.interpreter import Arrival, BranchScope, Interpreter
from workflows.join_policy import CANCELLED_ENTRY
from workflows.parallel import failure_origin


def branch_output(ended: dict[str, Any]) -> Any:
    """A branch's output: its one last step's output, an object of several, or null."""
    if not ended:
        return None
    if len(ended) == 1:
        return next(iter(ended.values()))
    return ended


class BatchItems:
    """Runs the items of one batch; `running` holds the interpreters of items running now, so that
    pause and resume reach them."""

    def __init__(
        self,
        batch: MapBatch,
        start: str,
        new_interpreter: Callable[[BranchScope], Interpreter],
        split_id: str | None = None,
    ):
        self.batch = batch
        self.start = start
        self.new_interpreter = new_interpreter
        self.split_id = split_id
        """The split whose items these are: each item's first step sees it as `prev_step` and the
        item as `prev` (None from parents that predate `prev`)."""
        self.running: dict[int, Interpreter] = {}
        self.finished = 0

    async def run(self, stop_at: str | None) -> list[dict[str, Any]]:
        entries: list[dict[str, Any] | None] = [None] * len(self.batch.items)
        queue = deque(range(len(self.batch.items)))
        tasks: dict[asyncio.Task[dict[str, Any]], int] = {}
        try:
            failed = False
            while (queue or tasks) and not failed:
                while queue and len(tasks) < self.batch.at_once:
                    k = queue.popleft()
                    tasks[asyncio.create_task(self._one(k, stop_at))] = k
                done, _ = await workflow.wait(list(tasks), return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: tasks[t]):
                    entry = task.result()
                    entries[tasks.pop(task)] = entry
                    failed = failed or ("error" in entry and self.batch.stop_on_error)
        finally:
            # an item failed under `fail`, or the batch is being cancelled: stop the others
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for k, result in zip(tasks.values(), results, strict=True):
                entries[k] = result if isinstance(result, dict) else dict(CANCELLED_ENTRY)
        return [e if e is not None else dict(CANCELLED_ENTRY) for e in entries]

    async def _one(self, k: int, stop_at: str | None) -> dict[str, Any]:
        scope = self.batch.scope(k, stop_at)
        interp = self.new_interpreter(scope)
        self.running[k] = interp
        arrival = Arrival(self.split_id, scope.item) if self.split_id is not None else None
        try:
            ended = await interp.run_from(self.start, arrival)
        except StepFailure as failure:
            return {"error": failure_origin(failure)}
        finally:
            self.running.pop(k, None)
            self.finished += 1
        return {"output": branch_output(ended)}
