"""`prev` and `prev_step` (the previous node's output and id) and `{% %}`-wrapped expression
fields, on a real Temporal dev server."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from segments.builtin_types import default_catalog
from segments.expressions import EvalClock, evaluate, evaluate_output, unwrap
from segments.validation import validate_definition
from tests.conftest import start_segment

CLOCK = EvalClock.fixed(0, 1)


def _step(step_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"step_id": step_id, "type": kind, "config": config}


def _edges(*pairs: tuple[str, str] | tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"source": p[0], "target": p[1], **({"source_port": p[2]} if len(p) == 3 else {})} for p in pairs]


# --- `{% %}` in expression fields ------------------------------------------------------------


def test_a_wrapped_expression_means_the_same_as_a_bare_one() -> None:
    document = {"input": {"items": [1, 2], "total": 5000}}
    assert unwrap("{% input.items %}") == "input.items"
    assert unwrap("  {%input.total > 1000%} ") == "input.total > 1000"
    assert unwrap("input.items") == "input.items"
    for bare, wrapped in (
        ("input.items", "{% input.items %}"),
        ("input.total > 1000", "{% input.total > 1000 %}"),
    ):
        assert evaluate(bare, document, CLOCK) == evaluate(wrapped, document, CLOCK)
    assert evaluate_output("{% input.total %}", document, CLOCK) == 5000
    assert evaluate_output("input.total", document, CLOCK) == 5000
    assert evaluate_output("Total {% input.total %}", document, CLOCK) == "Total 5000"
    assert evaluate_output({"t": "{% input.total %}"}, document, CLOCK) == {"t": 5000}


def test_wrapped_expression_fields_validate() -> None:
    segment = {
        "segment_id": "wrapped",
        "steps": [
            _step("split", "parallel_split", items="{% input.items %}"),
            _step("double", "transform", expression="{% item * 2 %}"),
            _step("join", "parallel_join"),
            _step("big", "condition", expression="{% $count(steps.join.output.branches) > 1 %}"),
        ],
        "edges": _edges(("split", "double"), ("double", "join"), ("join", "big")),
        "output": "{% steps.join.output.branches %}",
    }
    assert validate_definition(segment, default_catalog()) == []
    broken = {**segment, "output": "{% steps.nowhere.output %}"}
    assert [str(p) for p in validate_definition(broken, default_catalog())] == [
        "output: reads steps.nowhere, but there is no step 'nowhere'"
    ]


async def test_wrapped_expression_fields_run(client: Client, worker: str) -> None:
    segment = {
        "segment_id": "wrapped_run",
        "steps": [
            _step("split", "parallel_split", items="{% input.items %}"),
            _step("double", "transform", expression="{% item * 2 %}"),
            _step("join", "parallel_join"),
            _step("big", "condition", expression="{% $sum(steps.join.output.branches) > 5 %}"),
            _step("yes", "transform", expression="'big'"),
        ],
        "edges": _edges(("split", "double"), ("double", "join"), ("join", "big"), ("big", "yes", "true")),
        "output": "{% {'sum': $sum(steps.join.output.branches), 'said': steps.yes.output} %}",
    }
    handle = await start_segment(client, worker, segment, {"items": [1, 2, 3]})
    assert await handle.result() == {"sum": 12, "said": "big"}


# --- prev and prev_step ----------------------------------------------------------------------


async def test_prev_at_the_entrypoint_is_the_input_then_each_previous_step(
    client: Client, worker: str
) -> None:
    segment = {
        "segment_id": "prev_linear",
        "steps": [
            _step("first", "transform", expression="{'prev': prev, 'prev_step': prev_step}"),
            _step("second", "transform", expression="{'prev': prev, 'prev_step': prev_step}"),
            _step("check", "condition", expression="prev_step = 'second' and prev.prev_step = 'first'"),
            _step("after", "transform", expression="{'prev': prev, 'prev_step': prev_step}"),
        ],
        "edges": _edges(("first", "second"), ("second", "check"), ("check", "after", "true")),
        "output": "{'first': steps.first.output, 'second': steps.second.output, 'after': steps.after.output}",
    }
    handle = await start_segment(client, worker, segment, {"order": 7})
    result = await handle.result()
    assert result["first"] == {"prev": {"order": 7}, "prev_step": None}
    assert result["second"] == {"prev": {"prev": {"order": 7}, "prev_step": None}, "prev_step": "first"}
    assert result["after"] == {"prev": True, "prev_step": "check"}


async def test_prev_in_branches_and_after_the_join(client: Client, worker: str) -> None:
    """Map branches see the item as `prev`; edge branches the split's own `prev`; the step after
    the join sees the join's output."""
    segment = {
        "segment_id": "prev_branches",
        "steps": [
            _step("start", "transform", expression="{'n': $count(input.items)}"),
            _step("map", "parallel_split", items="input.items"),
            _step("each", "transform", expression="{'prev': prev, 'from': prev_step, 'then': 1}"),
            _step("second", "transform", expression="{'prev': prev, 'from': prev_step}"),
            _step("map_join", "parallel_join"),
            _step("after_map", "transform", expression="{'prev': prev, 'from': prev_step}"),
            _step("fork", "parallel_split"),
            _step("left", "transform", expression="{'prev': prev, 'from': prev_step}"),
            _step("right", "transform", expression="prev_step"),
            _step("fork_join", "parallel_join"),
            _step("end", "transform", expression="{'prev': prev, 'from': prev_step}"),
        ],
        "edges": _edges(
            ("start", "map"),
            ("map", "each"),
            ("each", "second"),
            ("second", "map_join"),
            ("map_join", "after_map"),
            ("after_map", "fork"),
            ("fork", "left"),
            ("fork", "right"),
            ("left", "fork_join"),
            ("right", "fork_join"),
            ("fork_join", "end"),
        ),
    }
    handle = await start_segment(client, worker, segment, {"items": ["a", "b"]})
    result = await handle.result()
    map_output = {
        "branches": [
            {"prev": {"prev": item, "from": "map", "then": 1}, "from": "each"} for item in ("a", "b")
        ],
        "cancelled": [],
        "failed": [],
    }
    after_map = {"prev": map_output, "from": "map_join"}
    fork_output = {
        "branches": {"left": {"prev": after_map, "from": "fork"}, "right": "fork"},
        "cancelled": [],
        "failed": [],
    }
    assert result == {"end": {"prev": fork_output, "from": "fork_join"}}


async def test_prev_in_a_batched_map(client: Client, worker: str) -> None:
    """Items run in batches (several per child workflow) see their own item as `prev` too."""
    segment = {
        "segment_id": "prev_batched",
        "steps": [
            _step("map", "parallel_split", items="input.items", batch_size=2),
            _step("each", "transform", expression="{'prev': prev, 'from': prev_step}"),
            _step("join", "parallel_join"),
        ],
        "edges": _edges(("map", "each"), ("each", "join")),
        "output": "steps.join.output.branches",
    }
    handle = await start_segment(client, worker, segment, {"items": ["a", "b", "c"]})
    assert await handle.result() == [{"prev": item, "from": "map"} for item in ("a", "b", "c")]
    await client.get_workflow_handle(f"{handle.id}/each[0-1]").describe()  # it did run in batches
