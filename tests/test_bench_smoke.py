"""The benchmark in its smallest mode against the session's server: one JSON line per scenario.

Behaviour only (which scenarios ran, with which keys); timings are for `python -m bench`."""

from __future__ import annotations

import json

from temporalio.client import Client

from bench.report import ScenarioResult, markdown_table
from bench.runner import run_bench
from bench.scenarios import SCENARIOS

COMMON_KEYS = {"scenario", "engine", "handwritten", "ratio", "targets"}
FIGURES = {
    "linear": {"steps_per_s", "p50_ms", "p95_ms", "events_per_step"},
    "approval": {"p50_ms", "p95_ms"},
    "start": {"validate_ms", "start_ms", "validate_and_start_ms", "first_event_bytes"},
    "memory": {"baseline_mb", "holding_mb", "per_run_kb"},
}


async def test_quick_bench_prints_one_json_line_per_scenario(client: Client) -> None:
    lines: list[str] = []

    def emit(result: ScenarioResult) -> None:
        lines.append(result.json_line())

    address = client.service_client.config.target_host
    results = await run_bench(client, address, list(SCENARIOS), quick=True, emit=emit)

    records = [json.loads(line) for line in lines]
    assert [r["scenario"] for r in records] == list(SCENARIOS)
    for record in records:
        assert record.keys() >= COMMON_KEYS, record["scenario"]
        assert record["engine"].keys() >= FIGURES.get(record["scenario"], set())
    linear = next(r for r in records if r["scenario"] == "linear")
    assert "handwritten_local" in linear
    assert set(linear["targets"]) == {
        "steps/s",
        "steps/s vs local activities",
        "history events/step",
        "events/step vs local activities",
    }
    fanout = next(r for r in records if r["scenario"] == "fanout")
    assert set(fanout["ratio"]) == {"edges", "map", "edges_vs_local", "map_vs_local"}
    assert "handwritten_local" in fanout
    big_map = next(r for r in records if r["scenario"] == "map")
    assert set(big_map["ratio"]["150"]) == {"vs_per_item", "vs_batched"}
    workers = next(r for r in records if r["scenario"] == "workers")
    assert set(workers["engine"]["steps_per_s"]) == {"1", "2"}  # worker processes on one queue (quick)
    table = markdown_table(results).splitlines()
    assert table[0].startswith("| scenario | metric |")
    assert len(table) == 2 + sum(len(r.rows) for r in results)
