"""Large maps in batches: items shared by child workflows, each item still its own branch.

On the real Temporal dev server. The 10,000-item map is the one slow test here (about a minute
or two on 2 cores): `pytest -m "not slow"` leaves it out.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError

from activities.contracts import StepActivityInput
from activities.functions import StepRegistry
from segments.builtin_types import default_catalog
from tests.conftest import start_segment
from worker import build_components, running_worker
from workflows.branch_input import narrowed_input
from workflows.map_batches import (
    MAX_BATCH_EVENTS,
    BatchPlan,
    batch_size,
    check_batches,
    events_per_item,
    plan,
)

PAUSE_QUEUE = "segments-tests-map-batches"


def _t(step_id: str, expression: str) -> dict[str, Any]:
    return {"step_id": step_id, "type": "transform", "config": {"expression": expression}}


def _map(*item_steps: dict[str, Any], on_branch_error: str = "fail", **split: Any) -> dict[str, Any]:
    ids = [s["step_id"] for s in item_steps]
    chain = ["split", *ids, "join"]
    return {
        "segment_id": "batched_map",
        "steps": [
            {"step_id": "split", "type": "parallel_split", "config": {"items": "input.items", **split}},
            *item_steps,
            {"step_id": "join", "type": "parallel_join", "config": {"on_branch_error": on_branch_error}},
        ],
        "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(chain)],
        "output": "{% steps.join.output %}",
    }


async def _status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    try:
        return (await client.get_workflow_handle(workflow_id).describe()).status
    except RPCError:
        return None


async def _eventually(check: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


# --- sizing (pure) -------------------------------------------------------------------------------


def test_the_automatic_batch_size_keeps_small_maps_unbatched_and_large_ones_near_100_children() -> None:
    assert batch_size(3, None, 2) == 1
    assert batch_size(100, None, 2) == 1
    assert batch_size(1_000, None, 2) == 10
    assert batch_size(10_000, None, 2) == 100
    assert batch_size(10_000, 25, 2) == 25
    # an item of many activities: smaller batches, so that no batch's history passes the bound
    segment = _map(*[{"step_id": f"h{i}", "type": "http_action", "config": {"url": "x"}} for i in range(10)])
    per_item = events_per_item({"steps": segment["steps"][1:-1]}, default_catalog())
    assert per_item == 60
    assert batch_size(10_000, None, per_item) * per_item <= MAX_BATCH_EVENTS


def test_batch_bounds_are_explained() -> None:
    problem = check_batches(1_000, 500, 60)
    assert problem is not None and "batch_size 500" in problem and "use batch_size 82 or less" in problem
    problem = check_batches(5_000, 2, 2)
    assert problem is not None and "2,500 child workflows" in problem
    assert check_batches(10_000, 100, 2) is None


def test_max_concurrency_counts_items_in_flight() -> None:
    assert plan(10_000, 100, 500) == BatchPlan(size=100, items_at_once=20, batches_at_once=25)
    assert plan(1_000, 100, 10) == BatchPlan(size=100, items_at_once=10, batches_at_once=1)
    assert plan(1_000, 100, 30) == BatchPlan(size=100, items_at_once=20, batches_at_once=1)


def test_a_batch_carries_only_the_input_fields_its_items_read() -> None:
    run_input = {"items": list(range(10_000)), "base": "http://x", "factor": 2}
    assert narrowed_input(["{% input.base %}/a", "item * input . factor"], run_input) == {
        "base": "http://x",
        "factor": 2,
    }
    assert narrowed_input(["item"], run_input) == {}
    for whole in ("$count(input)", "input[0]", "$$.input.base", "input.`base`"):
        assert narrowed_input([whole, "input.base"], run_input) is run_input


# --- on the server -------------------------------------------------------------------------------


async def test_a_batched_map_gives_each_item_its_own_branch_in_item_order(
    client: Client, worker: str
) -> None:
    segment = _map(_t("enrich", "{'i': index, 'double': item * 2}"), batch_size=50)
    handle = await start_segment(client, worker, segment, {"items": list(range(120))})
    result = await handle.result()
    assert result["branches"] == [{"i": i, "double": 2 * i} for i in range(120)]
    assert result["failed"] == [] and result["cancelled"] == []
    for name in ("enrich[0-49]", "enrich[50-99]", "enrich[100-119]"):
        assert await _status(client, f"{handle.id}/{name}") == WorkflowExecutionStatus.COMPLETED
    # no child per item
    assert await _status(client, f"{handle.id}/enrich[3]") is None


async def test_collect_keeps_each_items_error_in_a_batch(client: Client, worker: str) -> None:
    segment = _map(
        _t("check", "item % 7 = 3 ? $error('bad item ' & index) : item"),
        on_branch_error="collect",
        batch_size=10,
    )
    handle = await start_segment(client, worker, segment, {"items": list(range(30))})
    result = await handle.result()
    assert result["failed"] == ["check[3]", "check[10]", "check[17]", "check[24]"]
    error = result["branches"][10]["error"]
    assert error["step_id"] == "check" and error["task_path"] == "check[10]/"
    assert "bad item 10" in error["message"]
    assert result["branches"][11] == 11


async def test_fail_stops_at_the_first_failed_item_naming_it(client: Client, worker: str) -> None:
    segment = _map(_t("check", "item = 13 ? $error('bad item') : item"), batch_size=10)
    handle = await start_segment(client, worker, segment, {"items": list(range(30))})
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    message = str(failed.value.cause)
    assert "branch 'check[13]' failed at step 'check[13]/check' (transform)" in message


# --- pause, resume and cancel reach every batch ------------------------------------------------


class NapConfig(BaseModel):
    seconds: float


async def _nap(config: NapConfig, step: StepActivityInput) -> dict[str, Any]:
    deadline = time.monotonic() + config.seconds
    while time.monotonic() < deadline:
        activity.heartbeat()
        await asyncio.sleep(0.05)
    return {"napped": config.seconds}


@pytest.fixture(scope="module")
async def nap_worker(client: Client) -> AsyncIterator[str]:
    components = build_components()
    registry = StepRegistry(components.catalog)
    registry.add_function_step("test_nap", _nap, NapConfig)
    components.activities += registry.activities
    async with running_worker(
        client,
        PAUSE_QUEUE,
        components,
        default_heartbeat_throttle_interval=timedelta(milliseconds=100),
        max_heartbeat_throttle_interval=timedelta(milliseconds=100),
    ):
        yield PAUSE_QUEUE


BATCHES = ("nap[0-1]", "nap[2-3]", "nap[4-5]")


async def _all_batches_running(client: Client, handle: WorkflowHandle[Any, Any]) -> None:
    async def running() -> bool:
        states = [await _status(client, f"{handle.id}/{b}") for b in BATCHES]
        return all(s == WorkflowExecutionStatus.RUNNING for s in states)

    await _eventually(running)


async def test_pause_and_resume_reach_every_batch(client: Client, nap_worker: str) -> None:
    segment = _map(
        {"step_id": "nap", "type": "test_nap", "config": {"seconds": 2}}, _t("after", "index"), batch_size=2
    )
    handle = await start_segment(client, nap_worker, segment, {"items": list(range(6))})
    await _all_batches_running(client, handle)
    await handle.signal("pause")

    async def naps_done_and_waiting() -> bool:
        for name in BATCHES:
            status = await client.get_workflow_handle(f"{handle.id}/{name}").query("status")
            done = [s["step_id"] for s in status["steps_done"]]
            if done.count("nap") < 2:
                return False
            assert "after" not in done, f"{name} ran a step while paused"
        return True

    await _eventually(naps_done_and_waiting)
    await asyncio.sleep(1.5)  # paused: still no `after`
    assert await naps_done_and_waiting()
    await handle.signal("resume")
    result = await handle.result()
    assert result["branches"] == list(range(6))


async def test_cancelling_the_run_cancels_every_batch(client: Client, nap_worker: str) -> None:
    segment = _map({"step_id": "nap", "type": "test_nap", "config": {"seconds": 60}}, batch_size=2)
    handle = await start_segment(client, nap_worker, segment, {"items": list(range(6))})
    await _all_batches_running(client, handle)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    for name in BATCHES:

        async def cancelled(name: str = name) -> bool:
            return await _status(client, f"{handle.id}/{name}") == WorkflowExecutionStatus.CANCELED

        await _eventually(cancelled, 30)


# --- the large map --------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_map_over_10000_items_completes_in_order_with_small_histories(
    client: Client, worker: str
) -> None:
    """SLOW (about 1-2 minutes on 2 cores): the issue's bar, 10,000 items in under 120 s."""
    segment = _map(_t("classify", "{'i': index, 'urgent': item % 3 = 0}"))
    started = time.monotonic()
    handle = await start_segment(client, worker, segment, {"items": list(range(10_000))})
    result = await handle.result()
    elapsed = time.monotonic() - started
    assert result["branches"] == [{"i": i, "urgent": i % 3 == 0} for i in range(10_000)]
    parent = len((await handle.fetch_history()).events)
    batch = len((await client.get_workflow_handle(f"{handle.id}/classify[0-99]").fetch_history()).events)
    print(f"10,000-item map: {elapsed:.1f} s; parent history {parent} events, a batch's {batch}")
    assert parent < 10_240 and batch < 10_240
    # the bar is under 120 s; timed by `python -m bench --scenarios map`, not asserted here,
    # since the test machine is shared
