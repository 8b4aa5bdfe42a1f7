"""start: validating a 200-step definition with the default catalog and starting it (the
`start_workflow` round trip, with the search attributes and memo `SegmentsClient` sets), and
the size of its history's first event; a hand-written start of the same 200 steps beside it."""

from __future__ import annotations

import statistics
import time

from bench.context import BenchContext
from bench.definitions import linear_segment
from bench.handwritten import HandLinear, LinearInput
from bench.measure import ms, terminate_all
from bench.report import Row, ScenarioResult, ratio
from client.api import SegmentsClient
from segments.builtin_types import default_catalog
from segments.validation import validate_definition

STEPS = 200
TARGET_MS = 50.0


async def run(ctx: BenchContext) -> ScenarioResult:
    repeats = 3 if ctx.quick else 20
    definition = linear_segment(STEPS)
    catalog = default_catalog()
    segments = SegmentsClient(ctx.client, ctx.idle_queue, catalog)
    validate_s, start_s, hand_start_s, started = [], [], [], []
    for index in range(repeats):
        began = time.perf_counter()
        problems = validate_definition(definition, catalog)
        validate_s.append(time.perf_counter() - began)
        assert not problems, problems
        began = time.perf_counter()
        handle = await segments.start(
            definition, {"value": 0}, run_id=ctx.new_id(f"start-{index}"), validate=False
        )
        start_s.append(time.perf_counter() - began)
        began = time.perf_counter()
        hand = await ctx.client.start_workflow(
            HandLinear.run, LinearInput(STEPS), id=ctx.new_id("start-hand"), task_queue=ctx.idle_queue
        )
        hand_start_s.append(time.perf_counter() - began)
        started += [handle, hand]
    first_event = (await started[0].fetch_history()).events[0].ByteSize()
    hand_first_event = (await started[1].fetch_history()).events[0].ByteSize()
    await terminate_all(ctx.client, [h.id for h in started])
    validate, start, hand_start = (statistics.median(v) for v in (validate_s, start_s, hand_start_s))
    eng = {
        "validate_ms": ms(validate),
        "start_ms": ms(start),
        "validate_and_start_ms": ms(validate + start),
        "first_event_bytes": first_event,
    }
    handwritten = {"start_ms": ms(hand_start), "first_event_bytes": hand_first_event}
    ratios = {
        "start": ratio(eng["start_ms"], handwritten["start_ms"]),
        "validate_and_start": ratio(eng["validate_and_start_ms"], handwritten["start_ms"]),
        "first_event_bytes": ratio(first_event, hand_first_event),
    }
    rows = [
        Row("200 steps: validate ms", eng["validate_ms"], None, None),
        Row("200 steps: start round trip ms", eng["start_ms"], handwritten["start_ms"], ratios["start"]),
        Row(
            "200 steps: validate + start ms",
            eng["validate_and_start_ms"],
            handwritten["start_ms"],
            ratios["validate_and_start"],
            f"< {TARGET_MS:.0f} ms",
            eng["validate_and_start_ms"] < TARGET_MS,
        ),
        Row("200 steps: first event bytes", first_event, hand_first_event, ratios["first_event_bytes"]),
    ]
    data = {"steps": STEPS, "repeats": repeats, "engine": eng, "handwritten": handwritten, "ratio": ratios}
    return ScenarioResult("start", data, rows)
