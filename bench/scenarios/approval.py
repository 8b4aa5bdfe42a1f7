"""approval: runs waiting on an approval; the time from sending the `respond` update to the
run's result (one more step after the answer), engine vs `HandApproval` (the step after the
answer as an activity, and as a local activity), answered one at a time in rotation."""

from __future__ import annotations

import time
from typing import Any

from temporalio.client import WorkflowHandle

from bench.context import BenchContext
from bench.definitions import approval_answer
from bench.measure import ms, percentile, rotated
from bench.report import Row, ScenarioResult, ratio
from bench.waiting import start_many, wait_until_waiting

TARGET = 1.1
LOCAL_TARGET = 1.05
VARIANTS = ("engine", "handwritten", "handwritten_local")


async def _answer(handle: WorkflowHandle[Any, Any], engine: bool) -> float:
    began = time.perf_counter()
    await handle.execute_update("respond", approval_answer() if engine else {"decision": "approve"})
    result = await handle.result()
    elapsed = time.perf_counter() - began
    assert result == {"approved": True}, result
    return elapsed


async def run(ctx: BenchContext) -> ScenarioResult:
    runs = 3 if ctx.quick else 40
    waiting: dict[str, list[WorkflowHandle[Any, Any]]] = {
        name: await start_many(ctx, name == "engine", runs, local=name == "handwritten_local")
        for name in VARIANTS
    }
    for name, handles in waiting.items():
        await wait_until_waiting(handles, name == "engine")
    latencies: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for index in range(runs):
        for name in rotated(VARIANTS, index):
            latencies[name].append(await _answer(waiting[name][index], name == "engine"))
    figures = {
        name: {"p50_ms": ms(percentile(values, 50)), "p95_ms": ms(percentile(values, 95))}
        for name, values in latencies.items()
    }
    eng, hand, local = (figures[name] for name in VARIANTS)
    ratios = {
        "p50": ratio(eng["p50_ms"], hand["p50_ms"]),
        "p95": ratio(eng["p95_ms"], hand["p95_ms"]),
        "p50_vs_local": ratio(eng["p50_ms"], local["p50_ms"]),
        "p95_vs_local": ratio(eng["p95_ms"], local["p95_ms"]),
    }
    rows = [
        Row(
            "answer → result p50 ms",
            eng["p50_ms"],
            hand["p50_ms"],
            ratios["p50"],
            f"≤ {TARGET}",
            (ratios["p50"] or 0) <= TARGET,
        ),
        Row("answer → result p95 ms", eng["p95_ms"], hand["p95_ms"], ratios["p95"]),
        Row(
            "p50 ms vs local activity",
            eng["p50_ms"],
            local["p50_ms"],
            ratios["p50_vs_local"],
            f"≤ {LOCAL_TARGET}",
            (ratios["p50_vs_local"] or 99) <= LOCAL_TARGET,
        ),
        Row("p95 ms vs local activity", eng["p95_ms"], local["p95_ms"], ratios["p95_vs_local"]),
    ]
    data = {"runs": runs, "engine": eng, "handwritten": hand, "handwritten_local": local, "ratio": ratios}
    return ScenarioResult("approval", data, rows)
