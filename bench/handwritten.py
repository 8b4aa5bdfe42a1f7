"""The hand-written Temporal workflows the engine is measured against.

The obvious code a Temporal user would write for the same work, run under the SDK's default
sandbox (no pass-through modules): plain activities doing the computation in Python, a variant
with local activities, child workflows for a fan-out, and an update handler for an approval.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

ACTIVITY_TIMEOUT = timedelta(minutes=5)
LOCAL_ACTIVITY_TIMEOUT = timedelta(seconds=30)


@dataclass
class AddInput:
    value: int
    amount: int


@activity.defn
async def add(step: AddInput) -> dict[str, int]:
    """The same small computation as the benchmark's transform steps."""
    return {"value": step.value + step.amount}


@activity.defn
async def record_decision(answer: dict[str, Any]) -> dict[str, Any]:
    return {"approved": answer.get("decision") == "approve"}


@dataclass
class LinearInput:
    steps: int
    value: int = 0


@workflow.defn
class HandLinear:
    """`steps` activities in a row, each adding its position to the previous result."""

    @workflow.run
    async def run(self, request: LinearInput) -> dict[str, int]:
        result = {"value": request.value}
        for k in range(1, request.steps + 1):
            result = await workflow.execute_activity(
                add, AddInput(result["value"], k), start_to_close_timeout=ACTIVITY_TIMEOUT
            )
        return result


@workflow.defn
class HandLinearLocal:
    """`HandLinear` with local activities."""

    @workflow.run
    async def run(self, request: LinearInput) -> dict[str, int]:
        result = {"value": request.value}
        for k in range(1, request.steps + 1):
            result = await workflow.execute_local_activity(
                add, AddInput(result["value"], k), start_to_close_timeout=LOCAL_ACTIVITY_TIMEOUT
            )
        return result


@workflow.defn
class HandChild:
    """One branch of the fan-out: one activity."""

    @workflow.run
    async def run(self, value: int) -> dict[str, int]:
        return await workflow.execute_activity(
            add, AddInput(value, 1), start_to_close_timeout=ACTIVITY_TIMEOUT
        )


@workflow.defn
class HandChildLocal:
    """`HandChild` with a local activity."""

    @workflow.run
    async def run(self, value: int) -> dict[str, int]:
        return await workflow.execute_local_activity(
            add, AddInput(value, 1), start_to_close_timeout=LOCAL_ACTIVITY_TIMEOUT
        )


@dataclass
class FanOutInput:
    items: list[int]
    local: bool = False
    """Children run their activity as a local activity (`HandChildLocal`)."""


@workflow.defn
class HandFanOut:
    """One child workflow per item, all at once; the results in item order."""

    @workflow.run
    async def run(self, request: FanOutInput) -> list[dict[str, int]]:
        parent = workflow.info().workflow_id
        child = HandChildLocal.run if request.local else HandChild.run
        return list(
            await asyncio.gather(
                *(
                    workflow.execute_child_workflow(child, item, id=f"{parent}/{index}")
                    for index, item in enumerate(request.items)
                )
            )
        )


@dataclass
class ApprovalInput:
    order: dict[str, Any]
    local: bool = False
    """Run the step after the answer as a local activity."""


@workflow.defn
class HandApproval:
    """Waits (up to a day) for the `respond` update, then runs one activity."""

    def __init__(self) -> None:
        self._answer: dict[str, Any] | None = None

    @workflow.run
    async def run(self, request: ApprovalInput) -> dict[str, Any]:
        await workflow.wait_condition(lambda: self._answer is not None, timeout=timedelta(hours=24))
        assert self._answer is not None
        if request.local:
            return await workflow.execute_local_activity(
                record_decision, self._answer, start_to_close_timeout=LOCAL_ACTIVITY_TIMEOUT
            )
        return await workflow.execute_activity(
            record_decision, self._answer, start_to_close_timeout=ACTIVITY_TIMEOUT
        )

    @workflow.update
    def respond(self, answer: dict[str, Any]) -> dict[str, Any]:
        self._answer = answer
        return answer

    @respond.validator
    def _check(self, answer: dict[str, Any]) -> None:
        if self._answer is not None:
            raise ValueError("already answered")

    @workflow.query
    def waiting(self) -> bool:
        return self._answer is None


@dataclass
class MapInput:
    items: list[int]
    batch_size: int = 1
    """1: one child workflow per item (`HandChildLocal`); more: `HandBatch` children."""
    in_flight: int = 500
    """Children running at once: Temporal refuses more than 2,000 pending children per run."""


@workflow.defn
class HandBatch:
    """A batch of a hand-written batched map: one local activity per item, all at once."""

    @workflow.run
    async def run(self, items: list[int]) -> list[dict[str, int]]:
        return list(
            await asyncio.gather(
                *(
                    workflow.execute_local_activity(
                        add, AddInput(item, 1), start_to_close_timeout=LOCAL_ACTIVITY_TIMEOUT
                    )
                    for item in items
                )
            )
        )


@workflow.defn
class HandMap:
    """A map as a Temporal user writes it: children over the items, at most `in_flight` at once,
    either one per item or one per batch of `batch_size` items (the Step Functions ItemBatcher
    way); results in item order."""

    @workflow.run
    async def run(self, request: MapInput) -> list[dict[str, int]]:
        gate = asyncio.Semaphore(request.in_flight)
        info = workflow.info()

        async def child(workflow_run: Any, arg: Any, suffix: str) -> Any:
            async with gate:
                return await workflow.execute_child_workflow(
                    workflow_run, arg, id=f"{info.workflow_id}/{suffix}"
                )

        size = request.batch_size
        if size == 1:
            return list(
                await asyncio.gather(
                    *(child(HandChildLocal.run, item, str(i)) for i, item in enumerate(request.items))
                )
            )
        batches = [request.items[i : i + size] for i in range(0, len(request.items), size)]
        results = await asyncio.gather(*(child(HandBatch.run, b, f"b{i}") for i, b in enumerate(batches)))
        return [entry for batch in results for entry in batch]


WORKFLOWS: list[type] = [
    HandLinear,
    HandLinearLocal,
    HandChild,
    HandChildLocal,
    HandFanOut,
    HandApproval,
    HandBatch,
    HandMap,
]
ACTIVITIES: list[Callable[..., Any]] = [add, record_decision]
