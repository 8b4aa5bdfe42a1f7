"""approval: runs waiting on an approval; the time from sending the `respond` update to the
run's result (one more step after the answer), engine vs `HandApproval`, answered alternately."""

from __future__ import annotations

import time
from typing import Any

from temporalio.client import WorkflowHandle

from bench.context import BenchContext
from bench.definitions import approval_answer
from bench.measure import ms, percentile
from bench.report import Row, ScenarioResult, ratio
from bench.waiting import start_many, wait_until_waiting

TARGET = 1.1


async def _answer(handle: WorkflowHandle[Any, Any], engine: bool) -> float:
    began = time.perf_counter()
    if engine:
        await handle.execute_update("respond", approval_answer())
    else:
        await handle.execute_update("respond", {"decision": "approve"})
    result = await handle.result()
    elapsed = time.perf_counter() - began
    assert result == {"approved": True}, result
    return elapsed


async def run(ctx: BenchContext) -> ScenarioResult:
    runs = 3 if ctx.quick else 40
    engine_runs = await start_many(ctx, True, runs)
    hand_runs = await start_many(ctx, False, runs)
    await wait_until_waiting(engine_runs, True)
    await wait_until_waiting(hand_runs, False)
    latencies: dict[str, list[float]] = {"engine": [], "handwritten": []}
    for index, (engine_handle, hand_handle) in enumerate(zip(engine_runs, hand_runs, strict=True)):
        pair = [(engine_handle, True), (hand_handle, False)]
        for handle, engine in pair if index % 2 == 0 else reversed(pair):
            latencies["engine" if engine else "handwritten"].append(await _answer(handle, engine))
    figures = {
        name: {"p50_ms": ms(percentile(values, 50)), "p95_ms": ms(percentile(values, 95))}
        for name, values in latencies.items()
    }
    eng, hand = figures["engine"], figures["handwritten"]
    ratios = {"p50": ratio(eng["p50_ms"], hand["p50_ms"]), "p95": ratio(eng["p95_ms"], hand["p95_ms"])}
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
    ]
    data = {"runs": runs, "engine": eng, "handwritten": hand, "ratio": ratios}
    return ScenarioResult("approval", data, rows)
