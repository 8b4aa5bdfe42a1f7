"""Static checks of parallel splits and joins, and the pure parts of the parallel runner."""

from __future__ import annotations

from typing import Any

from segments.builtin_types import default_catalog
from segments.validation import validate_definition
from workflows.branch_input import needed_context
from workflows.join_policy import BranchError, BranchResult, JoinTally


def _step(step_id: str, kind: str = "transform", **config: Any) -> dict[str, Any]:
    if kind == "transform":
        config = {"expression": "1", **config}
    return {"step_id": step_id, "type": kind, "config": config}


def _problems(steps: list[dict[str, Any]], edges: list[tuple[str, str]]) -> list[str]:
    definition = {"segment_id": "s", "steps": steps, "edges": [{"source": s, "target": t} for s, t in edges]}
    return [str(p) for p in validate_definition(definition, default_catalog())]


def test_a_split_without_its_join_is_reported() -> None:
    problems = _problems(
        [_step("split", "parallel_split"), _step("a"), _step("b")], [("split", "a"), ("split", "b")]
    )
    assert problems == [
        "steps[0]: parallel_split 'split' has no matching parallel_join: the branch starting at 'a' "
        "never reaches a parallel_join; add a parallel_join where its branches meet"
    ]


NESTED = [
    _step("outer", "parallel_split"),
    _step("a"),
    _step("inner", "parallel_split"),
    _step("x"),
    _step("y"),
    _step("inner_join", "parallel_join"),
    _step("b"),
    _step("outer_join", "parallel_join"),
]


def test_nested_splits_each_match_their_own_join() -> None:
    edges = [
        ("outer", "a"),
        ("a", "inner"),
        ("inner", "x"),
        ("inner", "y"),
        ("x", "inner_join"),
        ("y", "inner_join"),
        ("inner_join", "outer_join"),
        ("outer", "b"),
        ("b", "outer_join"),
    ]
    assert _problems(NESTED, edges) == []


def test_a_nested_split_without_its_join_leaves_the_outer_split_unmatched() -> None:
    steps = [s for s in NESTED if s["step_id"] != "inner_join"]
    edges = [
        ("outer", "a"),
        ("a", "inner"),
        ("inner", "x"),
        ("inner", "y"),
        ("x", "outer_join"),
        ("y", "outer_join"),
        ("outer", "b"),
        ("b", "outer_join"),
    ]
    problems = _problems(steps, edges)
    assert problems == [
        "steps[0]: parallel_split 'outer' has no matching parallel_join: the branch starting at 'a' "
        "never reaches a parallel_join; add a parallel_join where its branches meet"
    ]


def test_a_map_split_needs_exactly_one_edge() -> None:
    steps = [
        _step("split", "parallel_split", items="input.list"),
        _step("a"),
        _step("b"),
        _step("join", "parallel_join"),
    ]
    problems = _problems(steps, [("split", "a"), ("split", "b"), ("a", "join"), ("b", "join")])
    assert problems == [
        "steps[0]: parallel_split 'split' maps over `items`, so it needs exactly one outgoing edge "
        "(the branch run for each item), not 2"
    ]


def test_a_branch_leading_back_to_its_split_is_reported() -> None:
    steps = [
        _step("split", "parallel_split"),
        _step("a", "condition", expression="true"),
        _step("b"),
        _step("join", "parallel_join"),
    ]
    definition_edges = [
        {"source": "split", "target": "a"},
        {"source": "a", "source_port": "true", "target": "join"},
        {"source": "a", "source_port": "false", "target": "split"},
        {"source": "split", "target": "b"},
        {"source": "b", "target": "join"},
    ]
    definition = {"segment_id": "s", "entrypoint": "split", "steps": steps, "edges": definition_edges}
    problems = [str(p) for p in validate_definition(definition, default_catalog())]
    assert any("starting at 'a' leads back to the split" in p for p in problems), problems


def test_at_least_more_than_the_branches_is_reported() -> None:
    steps = [
        _step("split", "parallel_split"),
        _step("a"),
        _step("b"),
        _step("join", "parallel_join", policy={"at_least": 3}),
    ]
    problems = _problems(steps, [("split", "a"), ("split", "b"), ("a", "join"), ("b", "join")])
    assert problems == [
        "steps[3]: parallel_join 'join' waits for at least 3 branches, but parallel_split 'split' has only 2"
    ]


def test_bad_join_config_is_reported() -> None:
    steps = [_step("split", "parallel_split"), _step("a"), _step("join", "parallel_join", policy="most")]
    problems = _problems(steps, [("split", "a"), ("a", "join")])
    assert problems and all(p.startswith("steps[2].config.policy") for p in problems)


# --- the join's bookkeeping ---------------------------------------------------------------------


def test_any_is_decided_by_the_first_success_not_by_a_collected_error() -> None:
    tally = JoinTally(["a", "b", "c"], successes_needed=1, collect=True, mapped=False)
    error = BranchError("a", "a", "transform", "a/", "boom", "ExpressionError")
    tally.record(BranchResult(0, error=error))
    assert not tally.decided
    tally.record(BranchResult(2, output="ok"))
    assert tally.decided and tally.failure is None
    assert tally.output() == {
        "branches": {"a": error.entry(), "b": {"cancelled": True}, "c": "ok"},
        "failed": ["a"],
        "cancelled": ["b"],
    }


def test_fail_is_decided_by_the_first_error() -> None:
    tally = JoinTally(["x[0]", "x[1]"], successes_needed=2, collect=False, mapped=True)
    tally.record(BranchResult(1, error=BranchError("x[1]", "x", "transform", "x[1]/", "boom", None)))
    assert tally.decided and tally.failure is not None and tally.failure.branch == "x[1]"


# --- what a branch's child workflow is given ----------------------------------------------------


def test_a_branch_gets_only_the_outputs_its_expressions_name() -> None:
    outputs = {"a": 1, "b": 2}
    assert needed_context(["steps.a.output + item"], {"big": "input"}, outputs) == (None, {"a": 1})
    assert needed_context(["input.x & steps.b.output"], {"x": 1}, outputs) == ({"x": 1}, {"b": 2})
    assert needed_context(["$keys(steps)"], None, outputs) == (None, outputs)
    assert needed_context(["$$.input"], {"x": 1}, outputs) == ({"x": 1}, outputs)
