"""linear: many runs at once of a chain of transform steps vs `HandLinear` (activities) and
`HandLinearLocal` (local activities): steps/s, run latency, history events per step."""

from __future__ import annotations

from typing import Any

from bench.context import BenchContext
from bench.definitions import linear_segment
from bench.handwritten import HandLinear, HandLinearLocal, LinearInput
from bench.measure import Batch, Starter, history_events, ms, percentile, rotated, run_batch
from bench.report import Row, ScenarioResult, ratio

STEPS = 10
LOCAL_THROUGHPUT = 0.9
LOCAL_EVENTS_MARGIN = 0.25
EVENT_SAMPLE = 10


def _sizes(quick: bool) -> tuple[int, int]:
    """(runs at once, rounds)."""
    return (5, 1) if quick else (50, 3)


def _starters(ctx: BenchContext) -> dict[str, Starter]:
    segment = linear_segment(STEPS)

    async def engine(i: int) -> Any:
        return await ctx.start_segment(segment, {"value": 0}, "linear")

    async def hand(i: int) -> Any:
        return await ctx.client.start_workflow(
            HandLinear.run, LinearInput(STEPS), id=ctx.new_id("linear-hand"), task_queue=ctx.hand_queue
        )

    async def hand_local(i: int) -> Any:
        return await ctx.client.start_workflow(
            HandLinearLocal.run, LinearInput(STEPS), id=ctx.new_id("linear-local"), task_queue=ctx.hand_queue
        )

    return {"engine": engine, "handwritten": hand, "handwritten_local": hand_local}


async def _figures(batches: list[Batch]) -> dict[str, float]:
    runs = sum(len(b.latencies) for b in batches)
    latencies = [latency for b in batches for latency in b.latencies]
    sample = batches[-1].handles[:EVENT_SAMPLE]
    events = await history_events(sample)
    return {
        "steps_per_s": round(runs * STEPS / sum(b.wall for b in batches), 2),
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "events_per_step": round(events / (len(sample) * STEPS), 2),
    }


async def run(ctx: BenchContext) -> ScenarioResult:
    runs, rounds = _sizes(ctx.quick)
    starters = _starters(ctx)
    expected = {"value": STEPS * (STEPS + 1) // 2}
    batches: dict[str, list[Batch]] = {name: [] for name in starters}
    await run_batch(starters["engine"], 2)  # warm both workers before timing anything
    await run_batch(starters["handwritten"], 2)
    for round_index in range(rounds):
        for name in rotated(list(starters), round_index):
            batch = await run_batch(starters[name], runs)
            assert all(r == expected for r in batch.results), f"{name} computed {batch.results[0]}"
            batches[name].append(batch)
    figures = {name: await _figures(b) for name, b in batches.items()}
    eng, hand, local = figures["engine"], figures["handwritten"], figures["handwritten_local"]
    ratios = {
        "throughput": ratio(eng["steps_per_s"], hand["steps_per_s"]),
        "throughput_vs_local": ratio(eng["steps_per_s"], local["steps_per_s"]),
        "p50": ratio(eng["p50_ms"], hand["p50_ms"]),
        "p50_vs_local": ratio(eng["p50_ms"], local["p50_ms"]),
        "events_per_step": ratio(eng["events_per_step"], hand["events_per_step"]),
        "events_per_step_vs_local": ratio(eng["events_per_step"], local["events_per_step"]),
    }
    rows = [
        Row(
            "steps/s",
            eng["steps_per_s"],
            hand["steps_per_s"],
            ratios["throughput"],
            "≥ 1.0",
            (ratios["throughput"] or 0) >= 1.0,
        ),
        Row(
            "steps/s vs local activities",
            eng["steps_per_s"],
            local["steps_per_s"],
            ratios["throughput_vs_local"],
            f"≥ {LOCAL_THROUGHPUT}",
            (ratios["throughput_vs_local"] or 0) >= LOCAL_THROUGHPUT,
        ),
        Row("p50 run latency ms", eng["p50_ms"], hand["p50_ms"], ratios["p50"]),
        Row("p95 run latency ms", eng["p95_ms"], hand["p95_ms"], ratio(eng["p95_ms"], hand["p95_ms"])),
        Row("p50 ms vs local activities", eng["p50_ms"], local["p50_ms"], ratios["p50_vs_local"]),
        Row(
            "history events/step",
            eng["events_per_step"],
            hand["events_per_step"],
            ratios["events_per_step"],
            "≤ hand-written",
            eng["events_per_step"] <= hand["events_per_step"],
        ),
        Row(
            "events/step vs local activities",
            eng["events_per_step"],
            local["events_per_step"],
            ratios["events_per_step_vs_local"],
            f"≤ hand-written + {LOCAL_EVENTS_MARGIN}",
            eng["events_per_step"] <= local["events_per_step"] + LOCAL_EVENTS_MARGIN,
        ),
    ]
    data = {
        "runs_at_once": runs,
        "steps": STEPS,
        "rounds": rounds,
        "engine": eng,
        "handwritten": hand,
        "handwritten_local": local,
        "ratio": ratios,
    }
    return ScenarioResult("linear", data, rows)
