"""Expressions are bounded for real (review finding H2).

Each bomb of the review runs as a real `transform` activity and as a real `condition` inside a
workflow on a real Temporal server, while a coroutine ticks every 50 ms on the event loop the
worker runs on: the longest gap between ticks shows whether anything held the loop. A bound that
is hit fails the step with `expression limit:`; no workflow task fails (the deadlock detector
would fire after 2 s of a held workflow thread)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import RunInfo, StepActivityInput
from activities.transform import transform
from segments.expressions import EvalClock, ExpressionError, ExpressionLimit, evaluate
from tests.conftest import start_segment

MAX_GAP = 0.5
WORKFLOW_MAX_GAP = 1.0
"""Conditions run on the worker's workflow thread, which shares the process (GIL, collector) with
the loop: on this shared, oversubscribed test machine the bound is checked with a margin; the
deterministic budget keeps one evaluation near 0.1 s on an idle 2-core machine."""
BOMBS = {
    # the old hooks were plain variables: binding them switched the bounds off
    "hook_shadowing": (
        "($__evaluate_entry := $nothing; $__evaluate_exit := $nothing; "
        "$sum([1..99999].($ * 2 + $ * 3 + $ * 4)))"
    ),
    "hook_shadowing_recursion": (
        "($__evaluate_entry := $nothing; $f := function($n){$n = 0 ? 0 : $f($n - 1)}; $f(2000000))"
    ),
    "string_doubling": '$length($reduce([1..31], function($a, $b){$a & $a}, "x"))',
    "huge_pad": '$length($pad("x", 100000000))',
    "quadratic_distinct": "$count($distinct([1..100000]))",
    "regex_on_a_huge_string": '$contains($pad("", 2000000, "a") & "!", /^(a+)+$/)',
}
HARMLESS_NOW = {
    # RE2 matches in linear time, $distinct hashes: what took minutes answers at once
    "catastrophic_regex": ('$contains($pad("", 40, "a") & "!", /^(a+)+$/)', False),
    "distinct_40000": ("$count($distinct([1..40000]))", 40000),
}


class Ticker:
    """Ticks every 50 ms on the running loop and keeps the longest gap between two ticks."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            self.longest = max(self.longest, now - last - 0.05)
            last = now

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0.1)
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self._task is not None
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task


def transform_input(expression: str) -> StepActivityInput:
    return StepActivityInput(
        step_id="bomb",
        step_type="transform",
        config={"expression": expression},
        run=RunInfo(run_id="r", segment_id="s", tenant_id=None, started_at="2026-01-01T00:00:00Z"),
        visit=1,
        context={"input": {}},
        clock_ms=0,
        random_seed=1,
        env={},
    )


@pytest.mark.parametrize("name", sorted(BOMBS))
async def test_transform_bomb_fails_with_a_limit_and_the_loop_keeps_ticking(name: str) -> None:
    async with Ticker() as ticker:
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(transform, transform_input(BOMBS[name]))
    assert "expression limit:" in caught.value.message and caught.value.non_retryable
    assert ticker.longest < MAX_GAP, f"the event loop stalled for {ticker.longest:.2f}s"


@pytest.mark.parametrize("name", sorted(HARMLESS_NOW))
async def test_former_bombs_answer_at_once(name: str) -> None:
    expression, expected = HARMLESS_NOW[name]
    async with Ticker() as ticker:
        result = await ActivityEnvironment().run(transform, transform_input(expression))
    assert result == expected
    assert ticker.longest < MAX_GAP, f"the event loop stalled for {ticker.longest:.2f}s"


def test_hooks_cannot_be_reached_and_eval_is_gone() -> None:
    clock = EvalClock.fixed(0, 1)
    with pytest.raises(ExpressionLimit, match="expression limit: evaluation cost"):
        evaluate(BOMBS["hook_shadowing"], {}, clock)
    with pytest.raises(ExpressionError, match=r"\$eval is not available"):
        evaluate('$eval("1 + 1")', {}, clock)
    with pytest.raises(ExpressionError, match="RE2"):
        evaluate('$contains("aa", /(a)\\1/)', {}, clock)


def test_results_sharing_one_big_value_are_bounded() -> None:
    """Cheap to build (one string, referenced often), huge to serialize: refused."""
    expression = '($a := $pad("", 500000, "x"); $b := [$a, $a, $a, $a, $a]; [$b, $b, $b, $b])'
    with pytest.raises(ExpressionLimit, match="expression limit: result larger"):
        evaluate(expression, {}, EvalClock.fixed(0, 1))
    with pytest.raises(ExpressionLimit, match="expression limit: a string longer"):
        evaluate('($a := $pad("", 500000, "x"); $string([$a, $a, $a]))', {}, EvalClock.fixed(0, 1))


# --- inside a workflow: conditions run on the workflow thread --------------------------------


@pytest.fixture
async def ticking(worker: str) -> AsyncIterator[Ticker]:
    async with Ticker() as ticker:
        yield ticker


def condition_segment(expression: str) -> dict[str, Any]:
    return {
        "segment_id": "bomb",
        "steps": [
            {"step_id": "check", "type": "condition", "config": {"expression": expression}},
            {"step_id": "yes", "type": "transform", "config": {"expression": "1"}},
        ],
        "edges": [{"source": "check", "target": "yes", "source_port": "true"}],
    }


async def workflow_task_failures(client: Client, workflow_id: str) -> int:
    failures = 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        failures += event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    return failures


@pytest.mark.parametrize("name", ["hook_shadowing", "string_doubling", "quadratic_distinct"])
async def test_condition_bomb_fails_the_step_not_the_workflow_task(
    client: Client, worker: str, ticking: Ticker, name: str
) -> None:
    workflow_id = f"bomb-{name}-{uuid.uuid4().hex[:6]}"
    handle = await start_segment(client, worker, condition_segment(BOMBS[name]), workflow_id=workflow_id)
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 60)  # a held workflow task would retry forever
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and "expression limit:" in cause.message
    assert "check" in cause.message
    assert await workflow_task_failures(client, workflow_id) == 0
    assert ticking.longest < WORKFLOW_MAX_GAP, f"the worker's event loop stalled for {ticking.longest:.2f}s"


async def test_catastrophic_regex_condition_answers_at_once(
    client: Client, worker: str, ticking: Ticker
) -> None:
    workflow_id = f"bomb-regex-{uuid.uuid4().hex[:6]}"
    segment = condition_segment(HARMLESS_NOW["catastrophic_regex"][0])
    handle = await start_segment(client, worker, segment, workflow_id=workflow_id)
    assert await asyncio.wait_for(handle.result(), 60) == {"check": False}
    assert await workflow_task_failures(client, workflow_id) == 0
    assert ticking.longest < WORKFLOW_MAX_GAP
