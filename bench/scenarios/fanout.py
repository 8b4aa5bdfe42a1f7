"""fan-out: a parallel_split/parallel_join of one-step branches vs `HandFanOut` (one child
workflow per branch, each running one activity): wall time of one run, 100 edges and a map
over 1,000 items."""

from __future__ import annotations

import statistics
import time
from typing import Any

from temporalio.client import WorkflowHandle

from bench.context import BenchContext
from bench.definitions import fanout_segment, map_segment
from bench.handwritten import HandFanOut
from bench.measure import ms, rotated
from bench.report import Row, ScenarioResult, ratio

TARGET = 1.1


def _sizes(quick: bool) -> tuple[int, int, int]:
    """(branches by edges, map items, rounds)."""
    return (5, 10, 1) if quick else (100, 1000, 3)


async def _timed(handle_coro: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    handle: WorkflowHandle[Any, Any] = await handle_coro
    result = await handle.result()
    return time.perf_counter() - began, result


async def _compare(
    ctx: BenchContext, label: str, segment: dict[str, Any], run_input: Any, items: list[int], rounds: int
) -> dict[str, Any]:
    walls: dict[str, list[float]] = {"engine": [], "handwritten": []}
    for round_index in range(rounds):
        for name in rotated(list(walls), round_index):
            if name == "engine":
                wall, result = await _timed(ctx.start_segment(segment, run_input, label))
            else:
                wall, result = await _timed(
                    ctx.client.start_workflow(
                        HandFanOut.run, items, id=ctx.new_id(f"{label}-hand"), task_queue=ctx.hand_queue
                    )
                )
                assert len(result) == len(items)
            walls[name].append(wall)
    engine, hand = statistics.median(walls["engine"]), statistics.median(walls["handwritten"])
    return {
        "branches": len(items),
        "engine": {"wall_ms": ms(engine), "walls_ms": [ms(w) for w in walls["engine"]]},
        "handwritten": {"wall_ms": ms(hand), "walls_ms": [ms(w) for w in walls["handwritten"]]},
        "ratio": ratio(engine, hand),
    }


async def run(ctx: BenchContext) -> ScenarioResult:
    branches, items, rounds = _sizes(ctx.quick)
    edges = await _compare(ctx, "fanout", fanout_segment(branches), {}, list(range(branches)), rounds)
    mapped = await _compare(
        ctx, "map", map_segment(), {"items": list(range(items))}, list(range(items)), rounds
    )
    rows = [
        Row(
            f"{case['branches']} branches{kind}: wall ms",
            case["engine"]["wall_ms"],
            case["handwritten"]["wall_ms"],
            case["ratio"],
            f"≤ {TARGET}",
            (case["ratio"] or 0) <= TARGET,
        )
        for case, kind in ((edges, " (edges)"), (mapped, " (map)"))
    ]
    data = {
        "rounds": rounds,
        "engine": {"edges": edges["engine"], "map": mapped["engine"]},
        "handwritten": {"edges": edges["handwritten"], "map": mapped["handwritten"]},
        "ratio": {"edges": edges["ratio"], "map": mapped["ratio"]},
        "branches": {"edges": branches, "map": items},
    }
    return ScenarioResult("fanout", data, rows)
