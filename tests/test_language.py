"""The pure segment language: models, catalog, expressions and durations (no Temporal)."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from activities.functions import StepRegistry
from segments.builtin_types import default_catalog
from segments.durations import DurationError, format_duration, parse_duration
from segments.expressions import (
    MAX_DEPTH,
    EvalClock,
    ExpressionError,
    evaluate,
    render,
    step_references,
)
from segments.models import SegmentDefinition

EXAMPLES = Path(__file__).parent.parent / "examples"
CLOCK = EvalClock.fixed(1_700_000_000_000, seed=7)


def test_canvas_export_round_trips_without_losing_ui_fields() -> None:
    export = json.loads((EXAMPLES / "pricing_loop.json").read_text())
    export["canvas"] = {"zoom": 1.5, "theme": "dark"}
    export["steps"][1]["ui"] = {"collapsed": True}
    export["edges"][0]["label"] = "then"
    assert SegmentDefinition.from_dict(export).to_dict() == export


def test_json_schema_describes_steps_and_edges() -> None:
    schema = SegmentDefinition.json_schema()
    assert set(schema["required"]) == {"segment_id", "steps", "edges"}
    assert "Step" in schema["$defs"] and "Edge" in schema["$defs"]


def test_catalog_export_has_ui_metadata_and_config_schema() -> None:
    exported = {t["type_id"]: t for t in default_catalog().export_for_ui()["step_types"]}
    condition = exported["condition"]
    assert condition["output_ports"] == ["true", "false"]
    assert condition["input_ports"] == ["in"]
    assert condition["config_schema"]["required"] == ["expression"]
    for field in ("display_name", "category", "icon", "color"):
        assert condition[field]


def test_a_registered_function_type_appears_like_a_builtin() -> None:
    class Greeting(BaseModel):
        name: str

    catalog = default_catalog()
    registry = StepRegistry(catalog)
    registry.add_function_step("greet", lambda config, step: f"hi {config.name}", Greeting, category="demo")
    exported = {t["type_id"]: t for t in catalog.export_for_ui()["step_types"]}
    assert exported["greet"]["category"] == "demo"
    assert exported["greet"]["config_schema"]["properties"]["name"]["type"] == "string"
    assert len(registry.activities) == 1
    with pytest.raises(ValueError, match="already registered"):
        registry.add_function_step("greet", lambda c, s: None, Greeting)


def test_expressions_see_input_steps_run_and_env() -> None:
    document = {"input": {"n": 2}, "steps": {"a": {"output": {"x": 5}}}, "run": {"segment_id": "s"}}
    assert evaluate("input.n * steps.a.output.x", document, CLOCK) == 10
    assert evaluate("run.segment_id & '-' & $env.REGION", document, CLOCK, {"REGION": "eu"}) == "s-eu"


def test_now_and_random_come_from_the_supplied_clock() -> None:
    assert evaluate("$now()", {}, CLOCK) == "2023-11-14T22:13:20.000Z"
    assert evaluate("$millis()", {}, CLOCK) == 1_700_000_000_000
    first = evaluate("[$random(), $random()]", {}, EvalClock.fixed(0, seed=7))
    again = evaluate("[$random(), $random()]", {}, EvalClock.fixed(0, seed=7))
    assert first == again and first[0] != first[1]


def test_a_runaway_expression_is_stopped_deterministically() -> None:
    with pytest.raises(ExpressionError, match="deeper than"):
        evaluate("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))", {}, CLOCK)
    with pytest.raises(ExpressionError, match="expression limit: evaluation cost"):
        evaluate("$sum([1..50000].($ * 2))", {}, CLOCK)
    assert MAX_DEPTH >= 50


def test_expressions_cannot_reach_python() -> None:
    for attempt in ("__import__('os')", "$eval(\"__import__('os').system('true')\")", "input.__class__"):
        try:
            result = evaluate(attempt, {"input": {}}, CLOCK)
        except ExpressionError:
            continue
        assert result is None


def test_templates_render_whole_values_and_interpolate_text() -> None:
    document = {"input": {"order": {"id": 7, "items": [1, 2]}}}
    assert render("{% input.order %}", document, CLOCK) == {"id": 7, "items": [1, 2]}
    assert render("Order {% input.order.id %}: {% input.order.items %}", document, CLOCK) == "Order 7: [1,2]"
    assert render({"a": ["{% input.order.id + 1 %}"], "b": 3}, document, CLOCK) == {"a": [8], "b": 3}
    assert render("missing: '{% input.nope %}'", document, CLOCK) == "missing: ''"


def test_step_references_ignore_strings() -> None:
    assert step_references("steps.a.output + steps.`b-c`.output & 'steps.z'") == {"a", "b-c"}


def test_durations() -> None:
    assert parse_duration("PT4H") == timedelta(hours=4)
    assert parse_duration("P1DT12H") == timedelta(days=1, hours=12)
    assert parse_duration("PT0.5S") == timedelta(milliseconds=500)
    assert format_duration(timedelta(hours=1, minutes=30)) == "PT1H30M"
    for bad in ("4h", "P", "PT", "P1M", ""):
        with pytest.raises(DurationError):
            parse_duration(bad)
