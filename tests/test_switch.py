"""The `switch` step: cases by `equals` and `when`, tried in order, `default` otherwise."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from segments.builtin_types import default_catalog
from segments.validation import validate_definition
from tests.conftest import start_segment


def _segment(cases: list[dict[str, Any]], value: str | None = "input.kind", **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"cases": cases, **extra}
    if value is not None:
        config["value"] = value
    ports = {c["port"] for c in cases} | {extra.get("default", "default")}
    return {
        "segment_id": "switching",
        "steps": [
            {"step_id": "route", "type": "switch", "config": config},
            *(
                {"step_id": f"to_{p}", "type": "transform", "config": {"expression": f"'{p}'"}}
                for p in sorted(ports)
            ),
        ],
        "edges": [{"source": "route", "source_port": p, "target": f"to_{p}"} for p in sorted(ports)],
        "output": "{'port': steps.route.output.port, 'value': steps.route.output.value, 'prev': "
        "$each(steps, function($v, $k) {$k != 'route' ? $v.output})}",
    }


CASES: list[dict[str, Any]] = [
    {"port": "one", "equals": 1},
    {"port": "flag", "equals": True},
    {"port": "order", "equals": {"type": "order", "n": [1, 2]}},
    {"port": "big", "when": "{% input.total > 1000 %}"},
    {"port": "small", "when": "input.total > 0"},
]


async def test_switch_routes_by_equals_then_when_then_default(client: Client, worker: str) -> None:
    segment = _segment(CASES)
    assert validate_definition(segment, default_catalog()) == []

    async def run(run_input: dict[str, Any]) -> Any:
        return await (await start_segment(client, worker, segment, run_input)).result()

    assert await run({"kind": 1, "total": 5000}) == {"port": "one", "value": 1, "prev": "one"}
    # JSON equality: true is not 1, key order does not count
    assert (await run({"kind": True}))["port"] == "flag"
    assert (await run({"kind": {"n": [1, 2], "type": "order"}}))["port"] == "order"
    assert await run({"kind": "x", "total": 5000}) == {"port": "big", "value": "x", "prev": "big"}
    assert (await run({"kind": "x", "total": 5}))["port"] == "small"
    assert await run({"kind": "x", "total": 0}) == {"port": "default", "value": "x", "prev": "default"}


def test_switch_problems_are_clear() -> None:
    catalog = default_catalog()
    both = _segment([{"port": "a", "equals": 1, "when": "true"}])
    assert [str(p) for p in validate_definition(both, catalog)] == [
        "steps[0].config.cases[0]: give exactly one of `equals` (a JSON value) or `when` (an expression)"
    ]
    bad_when = _segment([{"port": "a", "when": "input.total >"}])
    (problem,) = validate_definition(bad_when, catalog)
    assert problem.path == "steps[0].config.cases[0].when"
    no_port = _segment([{"port": "a", "equals": 1}])
    no_port["edges"].append({"source": "route", "source_port": "b", "target": "to_a"})
    assert [str(p) for p in validate_definition(no_port, catalog)] == [
        "edges[2].source_port: step 'route' (switch) has no port 'b'; ports: a, default"
    ]
    exported = {t["type_id"]: t for t in catalog.export_for_ui()["step_types"]}["switch"]
    assert exported["dynamic_output_ports"] is True
    assert "cases" in exported["config_schema"]["properties"]
