"""fan-out: a parallel_split/parallel_join of one-step branches vs `HandFanOut` (one child
workflow per branch, each running one activity; and each running one local activity, as the
engine's transform does): wall time of one run, 100 edges and a map over 1,000 items."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import WorkflowHandle

from bench.context import BenchContext
from bench.definitions import fanout_segment, map_segment
from bench.handwritten import FanOutInput, HandFanOut
from bench.measure import ms, rotated
from bench.report import Row, ScenarioResult, ratio

TARGET = 1.1
VARIANTS = ("engine", "handwritten", "handwritten_local")


def _sizes(quick: bool) -> tuple[int, int, int]:
    """(branches by edges, map items, rounds)."""
    return (5, 10, 1) if quick else (100, 1000, 3)


async def _timed(start: Callable[[], Awaitable[WorkflowHandle[Any, Any]]], branches: int) -> float:
    began = time.perf_counter()
    handle = await start()
    result = await handle.result()
    elapsed = time.perf_counter() - began
    values = result if isinstance(result, list) else result["join"]["branches"]
    assert len(values) == branches, f"{handle.id}: {len(values)} branch results"
    return elapsed


async def _compare(
    ctx: BenchContext, label: str, segment: dict[str, Any], run_input: Any, items: list[int], rounds: int
) -> dict[str, Any]:
    def starter(name: str) -> Callable[[], Awaitable[WorkflowHandle[Any, Any]]]:
        if name == "engine":
            return lambda: ctx.start_segment(segment, run_input, label)
        request = FanOutInput(items, local=name == "handwritten_local")
        return lambda: ctx.client.start_workflow(
            HandFanOut.run, request, id=ctx.new_id(f"{label}-hand"), task_queue=ctx.hand_queue
        )

    walls: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for round_index in range(rounds):
        for name in rotated(VARIANTS, round_index):
            walls[name].append(await _timed(starter(name), len(items)))
    medians = {name: statistics.median(values) for name, values in walls.items()}
    case: dict[str, Any] = {
        name: {"wall_ms": ms(medians[name]), "walls_ms": [ms(w) for w in walls[name]]} for name in VARIANTS
    }
    case["ratio"] = ratio(medians["engine"], medians["handwritten"])
    case["ratio_vs_local"] = ratio(medians["engine"], medians["handwritten_local"])
    case["branches"] = len(items)
    return case


async def run(ctx: BenchContext) -> ScenarioResult:
    branches, items, rounds = _sizes(ctx.quick)
    map_rounds = 1  # a round of 1,000 children takes minutes on 2 cores
    edges = await _compare(ctx, "fanout", fanout_segment(branches), {}, list(range(branches)), rounds)
    mapped = await _compare(
        ctx, "map", map_segment(), {"items": list(range(items))}, list(range(items)), map_rounds
    )
    rows = []
    for case, kind in ((edges, "edges"), (mapped, "map")):
        label = f"{case['branches']} branches ({kind}): wall ms"
        eng, hand, local = (case[name]["wall_ms"] for name in VARIANTS)
        rows.append(Row(label, eng, hand, case["ratio"], f"≤ {TARGET}", (case["ratio"] or 0) <= TARGET))
        rows.append(Row(f"{label} vs local activities", eng, local, case["ratio_vs_local"]))
    data = {
        "rounds": {"edges": rounds, "map": map_rounds},
        "branches": {"edges": branches, "map": items},
        **{name: {"edges": edges[name], "map": mapped[name]} for name in VARIANTS},
        "ratio": {
            "edges": edges["ratio"],
            "map": mapped["ratio"],
            "edges_vs_local": edges["ratio_vs_local"],
            "map_vs_local": mapped["ratio_vs_local"],
        },
    }
    return ScenarioResult("fanout", data, rows)
