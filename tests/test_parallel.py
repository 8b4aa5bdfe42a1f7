"""Parallel branches as child workflows, on the real Temporal dev server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from activities.contracts import StepActivityInput
from activities.functions import StepRegistry
from tests.conftest import start_segment
from worker import build_components, running_worker

EXAMPLES = Path(__file__).parent.parent / "examples"
SLOW_QUEUE = "segments-tests-parallel-slow"


def _t(step_id: str, expression: str) -> dict[str, Any]:
    return {"step_id": step_id, "type": "transform", "config": {"expression": expression}}


def _edges(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"source": s, "target": t} for s, t in pairs]


def _split(step_id: str, **config: Any) -> dict[str, Any]:
    return {"step_id": step_id, "type": "parallel_split", "config": config}


def _join(step_id: str, **config: Any) -> dict[str, Any]:
    return {"step_id": step_id, "type": "parallel_join", "config": config}


async def _status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    return (await client.get_workflow_handle(workflow_id).describe()).status


# --- a test-only slow step: a function step type that heartbeats until cancelled ---------------


class SleepConfig(BaseModel):
    seconds: float


CANCELLED_SLEEPS: list[str] = []


async def _sleep(config: SleepConfig, step: StepActivityInput) -> dict[str, Any]:
    deadline = time.monotonic() + config.seconds
    try:
        while time.monotonic() < deadline:
            activity.heartbeat()
            await asyncio.sleep(0.05)
    except asyncio.CancelledError:
        CANCELLED_SLEEPS.append(f"{step.task_path}{step.step_id}")
        raise
    return {"slept": config.seconds}


@pytest.fixture(scope="session")
async def slow_worker(client: Client) -> AsyncIterator[str]:
    """The standard components plus a `test_sleep` step type; heartbeats go out every 100 ms so
    that a cancelled activity hears of it at once."""
    components = build_components()
    registry = StepRegistry(components.catalog)
    registry.add_function_step("test_sleep", _sleep, SleepConfig)
    components.activities += registry.activities
    async with running_worker(
        client,
        SLOW_QUEUE,
        components,
        default_heartbeat_throttle_interval=timedelta(milliseconds=100),
        max_heartbeat_throttle_interval=timedelta(milliseconds=100),
    ):
        yield SLOW_QUEUE


# --- edge branches ------------------------------------------------------------------------------


async def test_three_branches_join_with_each_output(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "three",
        "steps": [
            _t("start", "{'n': input.n}"),
            _split("split"),
            _t("a", "steps.start.output.n + 1"),
            _t("b", "steps.start.output.n * 10"),
            _t("c", "'c' & steps.start.output.n"),
            _join("join"),
            _t("done", "steps.join.output"),
        ],
        "edges": _edges(
            ("start", "split"),
            ("split", "a"),
            ("split", "b"),
            ("split", "c"),
            ("a", "join"),
            ("b", "join"),
            ("c", "join"),
            ("join", "done"),
        ),
        "output": "{% steps.done.output %}",
    }
    handle = await start_segment(client, worker, segment, {"n": 4})
    result = await handle.result()
    assert result == {"branches": {"a": 5, "b": 40, "c": "c4"}, "failed": [], "cancelled": []}
    assert list(result["branches"]) == ["a", "b", "c"]  # edge order
    for name in ("a", "b", "c"):  # each branch is a child workflow, named after the run and the branch
        assert await _status(client, f"{handle.id}/{name}") == WorkflowExecutionStatus.COMPLETED


async def test_a_branch_of_several_steps_gives_its_last_steps_output(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "two_step_branch",
        "steps": [
            _split("split"),
            _t("a1", "1"),
            _t("a2", "steps.a1.output + 1"),
            _t("b", "'b'"),
            _join("join"),
        ],
        "edges": _edges(("split", "a1"), ("a1", "a2"), ("a2", "join"), ("split", "b"), ("b", "join")),
        "output": "{% steps.join.output.branches %}",
    }
    handle = await start_segment(client, worker, segment)
    assert await handle.result() == {"a1": 2, "b": "b"}


async def test_max_concurrency_runs_branches_one_after_another(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "one_at_a_time",
        "steps": [
            _split("split", max_concurrency=1),
            _t("a", "1"),
            _t("b", "2"),
            _t("c", "3"),
            _join("join"),
        ],
        "edges": _edges(
            ("split", "a"), ("split", "b"), ("split", "c"), ("a", "join"), ("b", "join"), ("c", "join")
        ),
    }
    handle = await start_segment(client, worker, segment)
    await handle.result()
    spans = []
    for name in ("a", "b", "c"):
        described = await client.get_workflow_handle(f"{handle.id}/{name}").describe()
        assert described.close_time is not None
        spans.append((described.start_time, described.close_time))
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0]


# --- map ----------------------------------------------------------------------------------------


async def test_map_runs_one_branch_per_item_with_item_and_index(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "map",
        "steps": [
            _t("prep", "{'factor': input.factor}"),
            _split("split", items="input.items"),
            _t("enrich", "{'name': item.name, 'index': index, 'value': item.v * steps.prep.output.factor}"),
            _join("join"),
        ],
        "edges": _edges(("prep", "split"), ("split", "enrich"), ("enrich", "join")),
        "output": "{% steps.join.output.branches %}",
    }
    items = [{"name": "x", "v": 1}, {"name": "y", "v": 2}, {"name": "z", "v": 3}]
    handle = await start_segment(client, worker, segment, {"items": items, "factor": 10})
    assert await handle.result() == [
        {"name": "x", "index": 0, "value": 10},
        {"name": "y", "index": 1, "value": 20},
        {"name": "z", "index": 2, "value": 30},
    ]
    assert await _status(client, f"{handle.id}/enrich[2]") == WorkflowExecutionStatus.COMPLETED


async def test_map_over_no_item_joins_at_once(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "empty_map",
        "steps": [_split("split", items="input.items"), _t("enrich", "item"), _join("join")],
        "edges": _edges(("split", "enrich"), ("enrich", "join")),
        "output": "{% steps.join.output.branches %}",
    }
    handle = await start_segment(client, worker, segment, {"items": []})
    assert await handle.result() == []


async def test_nested_splits_run_as_nested_children(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "nested",
        "steps": [
            _split("outer", items="input.items"),
            _t("prep", "item * 2"),
            _split("inner"),
            _t("inner_a", "steps.prep.output + 1"),
            _t("inner_b", "{'item': item, 'index': index}"),
            _join("inner_join"),
            _t("merge", "steps.inner_join.output.branches"),
            _join("outer_join"),
        ],
        "edges": _edges(
            ("outer", "prep"),
            ("prep", "inner"),
            ("inner", "inner_a"),
            ("inner", "inner_b"),
            ("inner_a", "inner_join"),
            ("inner_b", "inner_join"),
            ("inner_join", "merge"),
            ("merge", "outer_join"),
        ),
        "output": "{% steps.outer_join.output.branches %}",
    }
    handle = await start_segment(client, worker, segment, {"items": [5, 7]})
    assert await handle.result() == [
        {"inner_a": 11, "inner_b": {"item": 5, "index": 0}},
        {"inner_a": 15, "inner_b": {"item": 7, "index": 1}},
    ]
    for child in ("prep[1]", "prep[1]/inner_b", "prep[0]/inner_a"):
        assert await _status(client, f"{handle.id}/{child}") == WorkflowExecutionStatus.COMPLETED


# --- branch errors ------------------------------------------------------------------------------


def _failing_segment(on_branch_error: str) -> dict[str, Any]:
    return {
        "segment_id": f"failing_{on_branch_error}",
        "steps": [
            _split("split"),
            _t("good", "'fine'"),
            _t("bad", "$error('boom')"),
            _join("join", on_branch_error=on_branch_error),
        ],
        "edges": _edges(("split", "good"), ("split", "bad"), ("good", "join"), ("bad", "join")),
        "output": "{% steps.join.output %}",
    }


async def test_a_failing_branch_fails_the_split_by_default(client: Client, worker: str) -> None:
    handle = await start_segment(client, worker, _failing_segment("fail"))
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    message = str(caught.value.cause)
    assert "step 'split' (parallel_split) failed" in message
    assert "branch 'bad' failed at step 'bad/bad' (transform)" in message
    assert "boom" in message


async def test_collect_reports_the_branch_error_in_the_join_output(client: Client, worker: str) -> None:
    handle = await start_segment(client, worker, _failing_segment("collect"))
    result = await handle.result()
    assert result["branches"]["good"] == "fine"
    error = result["branches"]["bad"]["error"]
    assert error["step_id"] == "bad" and error["task_path"] == "bad/" and error["type"] == "ExpressionError"
    assert "boom" in error["message"]
    assert result["failed"] == ["bad"] and result["cancelled"] == []


async def test_a_failure_deep_in_nested_branches_names_the_deepest_step(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "nested_failure",
        "steps": [
            _split("outer", items="input.items"),
            _split("inner"),
            _t("ok", "1"),
            _t("bad", "item = 2 ? $error('boom at ' & index) : 0"),
            _join("inner_join"),
            _join("outer_join"),
        ],
        "edges": _edges(
            ("outer", "inner"),
            ("inner", "ok"),
            ("inner", "bad"),
            ("ok", "inner_join"),
            ("bad", "inner_join"),
            ("inner_join", "outer_join"),
        ),
    }
    handle = await start_segment(client, worker, segment, {"items": [1, 2]})
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    message = str(caught.value.cause)
    assert "branch 'inner[1]' failed at step 'inner[1]/bad/bad' (transform): expression: boom at 1" in message


# --- any / at_least: the others are cancelled, down to their activities -------------------------


def _race(policy: Any, fast: int, slow: int) -> dict[str, Any]:
    fast_ids = [f"fast{i}" for i in range(fast)]
    slow_ids = [f"slow{i}" for i in range(slow)]
    steps = [
        _split("split"),
        *[_t(f, f"'{f}'") for f in fast_ids],
        *[{"step_id": s, "type": "test_sleep", "config": {"seconds": 60}} for s in slow_ids],
        _join("join", policy=policy),
    ]
    ids = fast_ids + slow_ids
    return {
        "segment_id": "race",
        "steps": steps,
        "edges": _edges(*[("split", i) for i in ids], *[(i, "join") for i in ids]),
        "output": "{% steps.join.output %}",
    }


async def _wait_for(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_any_goes_on_at_the_first_branch_and_cancels_the_others(
    client: Client, slow_worker: str
) -> None:
    started = time.monotonic()
    handle = await start_segment(client, slow_worker, _race("any", fast=1, slow=2))
    result = await handle.result()
    assert time.monotonic() - started < 30
    assert result == {
        "branches": {"fast0": "fast0", "slow0": {"cancelled": True}, "slow1": {"cancelled": True}},
        "failed": [],
        "cancelled": ["slow0", "slow1"],
    }
    for name in ("slow0", "slow1"):
        assert await _status(client, f"{handle.id}/{name}") == WorkflowExecutionStatus.CANCELED
    # the child's cancellation reached its running activity
    await _wait_for(lambda: {"slow0/slow0", "slow1/slow1"} <= set(CANCELLED_SLEEPS))


async def test_at_least_n_goes_on_once_n_branches_succeeded(client: Client, slow_worker: str) -> None:
    handle = await start_segment(client, slow_worker, _race({"at_least": 2}, fast=2, slow=1))
    result = await handle.result()
    assert result["branches"] == {"fast0": "fast0", "fast1": "fast1", "slow0": {"cancelled": True}}
    assert result["cancelled"] == ["slow0"]
    assert await _status(client, f"{handle.id}/slow0") == WorkflowExecutionStatus.CANCELED


async def test_cancelling_the_run_cancels_its_branches(client: Client, slow_worker: str) -> None:
    handle = await start_segment(client, slow_worker, _race("all", fast=1, slow=1))
    child = client.get_workflow_handle(f"{handle.id}/slow0")
    deadline = time.monotonic() + 10
    while True:
        try:
            if (await child.describe()).status == WorkflowExecutionStatus.RUNNING:
                break
        except Exception:
            pass
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert await _status(client, child.id) == WorkflowExecutionStatus.CANCELED


# --- scale --------------------------------------------------------------------------------------


async def test_a_map_over_1000_items_keeps_the_parent_history_small(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "big_map",
        "steps": [
            _split("split", items="input.items"),
            _t("enrich", "{'i': index, 'double': item * 2}"),
            _join("join"),
        ],
        "edges": _edges(("split", "enrich"), ("enrich", "join")),
        "output": "{% steps.join.output.branches %}",
    }
    started = time.monotonic()
    handle = await start_segment(client, worker, segment, {"items": list(range(1000))})
    result = await handle.result()
    elapsed = time.monotonic() - started
    assert result == [{"i": i, "double": 2 * i} for i in range(1000)]
    history = await handle.fetch_history()
    print(f"1000-item map: {len(history.events)} parent history events, {elapsed:.1f} s")
    assert len(history.events) < 10_240


# --- the example --------------------------------------------------------------------------------


async def test_the_enrich_items_example_runs(client: Client, worker: str) -> None:
    segment = json.loads((EXAMPLES / "enrich_items.json").read_text())
    run_input = json.loads((EXAMPLES / "enrich_items.input.json").read_text())
    handle = await start_segment(client, worker, segment, run_input)
    result = await handle.result()
    assert result == EXPECTED_ENRICHED


EXPECTED_ENRICHED = {
    "order_id": "B-2002",
    "lines": [
        {"line": 1, "sku": "desk", "net": 800, "tax": 160, "gross": 960, "bulk": False},
        {"line": 2, "sku": "pen", "net": 27, "tax": 5.4, "gross": 32.4, "bulk": True},
        {"line": 3, "sku": "lamp", "net": 35, "tax": 7, "gross": 42, "bulk": False},
    ],
    "total": 1034.4,
}
