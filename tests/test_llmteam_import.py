"""The llmteam importer and the validator's safety checks, without a server.

The corpus was written and run by llmteam's own code (scripts/llmteam_corpus.py); these tests
check that every export translates (except `team`, refused by name), that problems point at the
original's paths, and that the translated expressions send what llmteam's runner sent where
llmteam is not defective, and the intended thing where it is.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonata import Jsonata

from segments.builtin_types import default_catalog
from segments.dialects import LLMTEAM, detect_dialect
from segments.dialects.llmteam import translate
from segments.dialects.llmteam.conditions import translate_condition
from segments.dialects.llmteam.transforms import translate_transform
from segments.dialects.loader import load_definition, validate_any
from segments.expressions import EvalClock, evaluate
from segments.validation import validate_definition
from tests.llmteam_corpus_support import CORPUS, Walk, exports, load, run_named

EXPORTS = exports()


def test_the_corpus_covers_every_version_and_step_type() -> None:
    names = {p.stem for p in EXPORTS}
    assert {
        "linear",
        "condition",
        "edge_conditions",
        "parallel",
        "human_approval",
        "order_processing",
        "loop",
        "switch",
        "subworkflow",
        "team",
    } <= names
    assert {p.parent.name for p in EXPORTS} == {"v2.0", "v2.3", "v5.3"}
    assert len(EXPORTS) >= 20


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_export_is_recognised_and_translates_except_team(path: Any) -> None:
    data = load(path)
    assert detect_dialect(data) == LLMTEAM
    translation = translate(data)
    if path.stem == "team":
        assert translation.definition is None
        assert [p.path for p in translation.problems] == ["steps[0].type"]
        assert "`team`" in translation.problems[0].message and "refused" in translation.problems[0].message
    else:
        assert translation.problems == [], translation.problems
        assert translation.definition is not None
        assert translate(copy.deepcopy(data)).definition == translation.definition  # deterministic


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_translated_expression_fails_to_compile_or_reads_an_unknown_root(path: Any) -> None:
    problems = validate_any(load(path), default_catalog())
    expression_problems = [p for p in problems if "compile" in p.message or "at its root" in p.message]
    assert expression_problems == []


# --- the validator's safety checks --------------------------------------------------------


def _ours(**edge_extra: Any) -> dict[str, Any]:
    return {
        "segment_id": "s",
        "steps": [
            {"step_id": "a", "type": "transform", "config": {"expression": "input.total"}},
            {"step_id": "b", "type": "transform", "config": {"expression": "prev"}},
        ],
        "edges": [{"source": "a", "target": "b", **edge_extra}],
    }


def test_an_unknown_edge_key_is_a_problem_not_silently_kept() -> None:
    problems = validate_definition(_ours(condition="approved"), default_catalog())
    assert [p.path for p in problems] == ["edges[0].condition"]
    assert "route with a condition or switch step" in problems[0].message
    assert validate_definition(_ours(label="yes", ui={"color": "red"}), default_catalog()) == []


def test_a_root_name_that_is_always_undefined_is_flagged() -> None:
    bad = _ours()
    bad["steps"][0]["config"]["expression"] = "amount > 1000"
    problems = validate_definition(bad, default_catalog())
    assert [p.path for p in problems] == ["steps[0].config.expression"]
    assert "'amount'" in problems[0].message and "input.amount" in problems[0].message
    fine = _ours()
    fine["steps"][0]["config"]["expression"] = "$sum(input.items[price > 100].(qty * price)) + $count(steps)"
    assert validate_definition(fine, default_catalog()) == []


def test_an_llmteam_file_given_to_the_plain_validator_gets_one_clear_problem() -> None:
    problems = validate_definition(load(CORPUS / "v5.3" / "linear.json"), default_catalog())
    assert len(problems) == 1
    assert "llmteam export" in problems[0].message and "segments import" in problems[0].message


# --- problems at the original's paths ----------------------------------------------------


def test_problems_of_the_translation_point_at_the_original() -> None:
    data = load(CORPUS / "v5.3" / "human_approval.json")
    data["steps"][0]["config"]["timeout_hours"] = -1
    data["edges"][0]["condition"] = "status == 200"
    data["edges"][0]["from_port"] = "output"
    problems = validate_any(data, default_catalog())
    paths = [p.path for p in problems]
    assert "steps[0].config.timeout_hours" in paths


def test_a_switch_case_that_is_arbitrary_python_is_refused_by_path() -> None:
    data = load(CORPUS / "v5.3" / "switch.json")
    data["steps"][1]["config"]["cases"][1]["expression"] = "().__class__.__mro__[1].__subclasses__() != []"
    translation = translate(data)
    assert translation.definition is None
    assert [p.path for p in translation.problems] == ["steps[1].config.cases[1].expression"]
    assert "Python eval" in translation.problems[0].message


def test_an_edge_from_a_condition_step_must_name_its_port() -> None:
    data = load(CORPUS / "v2.0" / "condition.json")
    data["edges"][1]["from_port"] = "output"
    assert [p.path for p in translate(data).problems] == ["edges[1].from_port"]


# --- llmteam's mini-languages -------------------------------------------------------------

_CLOCK = EvalClock.fixed(0, 0)

# llmteam-format.md 5.5, recorded by calling llmteam's ConditionHandler
CONDITIONS = [
    ("amount > 1000", {"amount": 5000}, True),
    ("input.total > 1000", {"input": {"total": 200}}, False),
    ("a or b and c", {"a": True, "b": False, "c": False}, False),
    ("name == 'Tom and Jerry'", {"name": "Tom and Jerry"}, False),
    ("missing > 10", {"amount": 5}, False),
    ("tier in ['gold', 'silver']", {"tier": "gold"}, True),
    ("name contains 'Jerry'", {"name": "Tom and Jerry"}, True),
    ("x==1", {"x": 1}, False),
    ("a > 1 or b", {"a": None, "b": True}, False),
    ("b or a > 1", {"a": None, "b": True}, True),
    ("not approved", {"approved": False}, True),
    ("n == 1", {"n": True}, True),
    ("__class__", {}, False),
]


@pytest.mark.parametrize(("text", "data", "expected"), CONDITIONS)
def test_conditions_follow_llmteams_precedence_and_literal_rules(
    text: str, data: Any, expected: bool
) -> None:
    condition = translate_condition(text, "input")
    assert evaluate(condition.jsonata, {"input": data}, _CLOCK) is expected


# llmteam-format.md 5.6, recorded by calling llmteam's TransformHandler
TRANSFORMS = [
    ({"expression": "input"}, {"input": {"total": 5}}, {"input": {"total": 5}}),
    ({"expression": "input.total"}, {"input": {"total": 5}}, 5),
    ({"expression": "len()"}, {"input": [1, 2, 3]}, 1),
    ({"expression": "$.input.items[*].sku"}, {"input": {"items": [{"sku": "A"}, {"sku": "B"}]}}, ["A", "B"]),
    ({"expression": "total"}, {"input": {"total": 5}}, {"input": {"total": 5}}),
    (
        {"mapping": {"id": "order.id", "nope": "order.zzz"}},
        {"order": {"id": "PO-7"}},
        {"id": "PO-7", "nope": None},
    ),
    ({"mapping": {"first": "items[0].sku"}}, {"items": [{"sku": "A"}]}, {"first": "A"}),
]


@pytest.mark.parametrize(("config", "data", "expected"), TRANSFORMS)
def test_transforms_follow_llmteams_rules(config: dict[str, Any], data: Any, expected: Any) -> None:
    transform = translate_transform(config, "input", None)
    assert evaluate(transform.jsonata, {"input": data}, _CLOCK) == expected


def test_prompt_placeholders_are_filled_as_llmteam_fills_them() -> None:
    export = {
        "workflow_id": "p",
        "segment_id": "p",
        "name": "p",
        "entrypoint": "a",
        "steps": [
            {"step_id": "a", "type": "transform", "config": {"expression": "order"}},
            {
                "step_id": "b",
                "type": "llm_agent",
                "config": {
                    "prompt": "Use {input}, flag {flag}, keep {unknown}",
                    "system_prompt": "Say {% no %}",
                },
            },
        ],
        "edges": [{"from": "a", "to": "b", "from_port": "output", "to_port": "input"}],
    }
    walk = Walk(export, {"order": {"total": 5, "ok": True}})
    walk.step("a")
    walk.step("b", "a", text="x")
    assert walk.sent["b"] == 'Use {"total": 5, "ok": true}, flag {flag}, keep {unknown}'
    system = walk.steps["b"]["config"]["system"]
    assert evaluate(system.removeprefix("{%").removesuffix("%}").strip(), {}, _CLOCK) == "Say {% no %}"


def test_python_value_rules_in_prompts() -> None:
    helpers = "($pp := function($v){ $v }; 1)"
    assert Jsonata(helpers).evaluate({}) == 1
    export = {
        "segment_id": "p",
        "name": "p",
        "entrypoint": "b",
        "steps": [
            {"step_id": "b", "type": "llm_agent", "config": {"prompt": "{a} {b} {c} {d}"}, "ports": {}}
        ],
        "edges": [],
    }
    walk = Walk(export, {"a": True, "b": None, "c": [1, "x"], "d": "it's"})
    walk.step("b", text="x")
    assert walk.sent["b"] == 'True None [1, "x"] it\'s'


# --- what the translation sends, against llmteam's recorded runs -----------------------------


@pytest.mark.parametrize("version", ["v2.3", "v5.3"])
def test_linear_sends_what_llmteam_sent_and_ends_with_its_output(version: str) -> None:
    path = CORPUS / version / "linear.json"
    run = run_named(path, "summarize a complaint")
    walk = Walk(load(path), run["input"])
    walk.step("summarize", text="Damaged delivery; refund requested.")
    walk.step("shape", "summarize")
    walk.step("post_note", "shape", body={"id": 42, "saved": True})
    assert walk.sent["summarize"] == run["llm_calls"][0]["prompt"]
    assert walk.sent["post_note"] == run["http_calls"][0]["json"]
    assert walk.output() == run["output"]
    config = walk.steps["summarize"]["config"]
    assert (config["llm_ref"], config["temperature"], config["max_tokens"]) == ("fast", 0.2, 1000)
    assert walk.steps["post_note"]["config"]["connection"] == "crm"


@pytest.mark.parametrize("version", ["v2.0", "v2.3", "v5.3"])
def test_condition_true_path_matches_and_false_takes_the_false_edge(version: str) -> None:
    path = CORPUS / version / "condition.json"
    walk = Walk(load(path), {"amount": 5000})
    assert walk.step("check") is True
    walk.step("needs_review", "check")
    if version != "v2.0":  # llmteam 2.0 runs nothing: no handler is registered
        assert walk.output() == run_named(path, "amount 5000")["output"]
    edges = walk.definition["edges"]
    assert {"source": "check", "target": "auto_ok", "source_port": "false"} in edges
    walk = Walk(load(path), {"amount": 500})
    assert walk.step("check") is False
    walk.step("auto_ok", "check")
    # llmteam (a defect) ran needs_review with {"false": ...}; the graph as drawn runs auto_ok
    assert walk.output() == {"output": {"amount": 500, "approved": None}}


def test_the_order_workflow_places_what_llmteam_placed_after_approval() -> None:
    path = CORPUS / "v5.3" / "order_processing.json"
    run = run_named(path, "order 5000")
    walk = Walk(load(path), run["input"])
    walk.step("validate")
    assert walk.step("big_order", "validate") is True
    walk.step("approve", "big_order", decision="approve", responder="approver", comment="ok")
    walk.step("place", "approve", body={"order_id": "PO-1", "placed": True})
    assert walk.sent["place"] == run["http_calls"][0]["json"]
    assert walk.output() == run["output"]
    approve = walk.steps["approve"]["config"]
    assert (
        approve["assignee"] == "approver"
        and approve["timeout"] == "PT4H"
        and approve["escalation"] == ["cfo"]
    )


def test_the_order_workflow_200_skips_approval() -> None:
    path = CORPUS / "v2.0" / "order_processing.json"
    walk = Walk(load(path), {"order": {"id": "A-2", "total": 200}})
    walk.step("validate")
    assert walk.step("big_order", "validate") is False
    walk.step("place", "big_order", body={"order_id": "PO-1", "placed": True})
    assert walk.sent["place"] == {"input": {"input": {"order": {"id": "A-2", "total": 200}, "total": 200}}}


def test_human_approval_routes_a_rejection_where_llmteam_failed() -> None:
    path = CORPUS / "v5.3" / "human_approval.json"
    assert run_named(path, "finance rejects")["status"] == "failed"
    walk = Walk(load(path), {"item": "laptop", "amount": 1800})
    walk.step("approve", decision="reject", responder="finance", comment="over budget")
    assert walk.step("tell_requester", "approve") == {"rejected_by": "finance"}
    assert {"source": "approve", "target": "tell_requester", "source_port": "rejected"} in walk.definition[
        "edges"
    ]


def test_parallel_branches_get_llmteams_branch_dicts_and_the_join_its_list() -> None:
    path = CORPUS / "v5.3" / "parallel.json"
    run = run_named(path, "both branches")
    walk = Walk(load(path), run["input"])
    walk.step("fan_out")
    walk.step("summarize", "fan_out", text="Damaged delivery; refund requested.")
    walk.step("lookup", "fan_out", body={"id": 42, "name": "Ada", "tier": "gold"})
    assert walk.sent["summarize"] == run["llm_calls"][0]["prompt"]
    branches = {
        "summarize": walk.document["steps"]["summarize"]["output"],
        "lookup": walk.document["steps"]["lookup"]["output"],
    }
    walk.step("merge", output={"branches": branches, "failed": [], "cancelled": []})
    del walk.document["steps"]["summarize"], walk.document["steps"]["lookup"]  # inside the children
    walk.step("report", "merge")
    assert walk.output() == run["output"]


def test_the_loop_redrafts_where_llmteam_hung() -> None:
    path = CORPUS / "v5.3" / "loop.json"
    assert run_named(path, "redraft")["status"] == "hung"
    walk = Walk(load(path), {"topic": "a slogan for tea"})
    walk.step("start")
    walk.step("draft", "start", text="DRAFT: Tea for you.")
    assert walk.sent["draft"] == "Write a slogan: a slogan for tea"
    assert walk.step("check", "draft") is False
    walk.step("draft", "check", text="FINAL: Tea that tastes like home.")
    assert walk.sent["draft"] == 'Write a slogan: {"input": "DRAFT: Tea for you."}'
    assert walk.step("check", "draft") is True
    walk.step("publish", "check")
    assert walk.output() == {"output": {"input": {"input": "FINAL: Tea that tastes like home."}}}


def test_switch_routes_by_the_case_that_matches() -> None:
    path = CORPUS / "v5.3" / "switch.json"
    run = run_named(path, "support ticket")
    walk = Walk(load(path), run["input"])
    walk.step("classify", text="support")
    assert walk.sent["classify"] == run["llm_calls"][0]["prompt"]
    assert walk.step("route", "classify") == {"port": "support", "value": "support"}
    walk.step("support_team", "route")
    assert walk.output() == {"output": {"team": {"input": "support"}}}


def test_subworkflow_translates_to_a_definitions_store_reference() -> None:
    translation = translate(load(CORPUS / "v5.3" / "subworkflow.json"))
    assert translation.definition is not None
    enrich = next(s for s in translation.definition["steps"] if s["step_id"] == "enrich")
    assert enrich["type"] == "subworkflow"
    assert enrich["config"]["segment_ref"] == {"segment_id": "enrich_child", "version": "1.0"}


def test_loader_records_the_dialect_and_the_original_hash() -> None:
    data = load(CORPUS / "v5.3" / "linear.json")
    loaded = load_definition(data)
    assert loaded.dialect == "llmteam"
    assert loaded.memo()["segment_dialect"] == "llmteam"
    assert len(loaded.memo()["source_hash"]) == 64
    assert load_definition({"segment_id": "x", "steps": [], "edges": []}).memo() == {}


def test_segments_graph_draws_an_llmteam_export_as_translated() -> None:
    from client.cli_graph import mermaid_of

    drawing = mermaid_of(load(CORPUS / "v5.3" / "order_processing.json"), "order_processing.json")
    assert 's_big_order -->|"false"| s_place' in drawing
    assert 's_approve -->|"approved"| s_place' in drawing
