"""What a parallel branch's child workflow receives, and how the parent keeps it small.

Every child's input is written into the parent's history (one event per child), so a branch gets
only the part of the definition it can reach before its join, and only the data its expressions
can read: the run input and the outputs of the steps they name. Pure code, no Temporal calls.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from activities.contracts import RunInfo
from segments.catalog import Catalog
from segments.expressions import iter_templates, step_references
from segments.graph import Graph
from segments.models import SegmentDefinition
from workflows.contract import BRANCH_WORKFLOW
from workflows.interpreter import Arrival, BranchScope

BRANCH_WORKFLOW_NAME = BRANCH_WORKFLOW

_WHOLE_DOCUMENT = re.compile(r"\$(?![A-Za-z_])")
"""`$`, `$$`, `$.x`: the whole document, so any input or step output."""
_INPUT_WORD = re.compile(r"(?<![\w$.])input\b")
_INPUT_FIELD = re.compile(r"(?<![\w$.])input\s*\.\s*([A-Za-z_]\w*)")
_BARE_STEPS = re.compile(r"(?<![\w$.])steps(?!\s*\.\s*[`A-Za-z_])")


@dataclass
class MapBatch:
    """Consecutive items of a map for one child workflow."""

    items: list[Any]
    first_index: int
    path_prefix: str
    """The item's path up to its index: `outer[1]/enrich` for item paths `outer[1]/enrich[7]/`."""
    path_suffix: str = ""
    """After the index: `#2` on the split's second visit."""
    at_once: int = 1
    stop_on_error: bool = True

    def path(self) -> str:
        """The batch's own path: `enrich[100-199]/` (its child workflow id ends with it)."""
        last = self.first_index + len(self.items) - 1
        return f"{self.path_prefix}[{self.first_index}-{last}]{self.path_suffix}/"

    def scope(self, k: int, stop_at: str | None) -> BranchScope:
        index = self.first_index + k
        return BranchScope(f"{self.path_prefix}[{index}]{self.path_suffix}/", self.items[k], index, stop_at)


@dataclass
class BranchInput:
    segment: dict[str, Any]
    """The sub-definition the branch can reach, from `start` up to and including its join."""
    start: str
    scope: BranchScope
    run: RunInfo
    input: Any = None
    """The run input, or None when no expression of the branch reads it."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """Outputs of the parent's finished steps that the branch's expressions read."""
    env: dict[str, str] = field(default_factory=dict)
    root_workflow_id: str = ""
    """The run's root workflow: where its status and human tasks are reached."""
    batch: MapBatch | None = None
    """A batched map: this child runs these items, each as its own branch (workflows/batch_items.py)."""
    arrival: Arrival | None = None
    """`prev` and `prev_step` of the branch's first step: the split's id, and the item in a map
    or the split's own `prev` otherwise (None from parents that predate `prev`)."""


def branch_definition(
    definition: SegmentDefinition, graph: Graph, start: str, join_id: str
) -> dict[str, Any]:
    """The steps reachable from `start` without passing the join (the join included, as the stop),
    and the edges between them; the segment's `output` and `input_schema` stay with the root."""
    keep = graph.reachable(start, stop_at=frozenset({join_id}))
    kept = set(keep)
    full = definition.to_dict()
    return {
        "segment_id": definition.segment_id,
        "entrypoint": start,
        "steps": [s for s in full["steps"] if s["step_id"] in kept],
        "edges": [
            e for e in full["edges"] if e["source"] in kept and e["target"] in kept and e["source"] != join_id
        ],
    }


def branch_expressions(segment: dict[str, Any], catalog: Catalog) -> list[str]:
    """Every JSONata text that the steps of a (sub-)definition evaluate."""
    found: list[str] = []
    for step in segment["steps"]:
        step_type = catalog.get(step["type"])
        expression_fields = step_type.expression_fields if step_type else ()
        for key, value in (step.get("config") or {}).items():
            if key in expression_fields and isinstance(value, str):
                found.append(value)
            elif key in expression_fields:
                found.append(json.dumps(value))  # a switch's cases: read as text, like an expression
            else:
                found += [expression for _, expression in iter_templates(value)]
    return found


def needed_context(
    expressions: list[str], run_input: Any, outputs: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The run input and step outputs that `expressions` can read: all of it when one reads the
    whole document (`$$`, `$`) or `steps` as a whole, else what they name."""
    whole = any(_WHOLE_DOCUMENT.search(e) for e in expressions)
    needs_input = whole or any("input" in e for e in expressions)
    if whole or any(_BARE_STEPS.search(e) for e in expressions):
        return (run_input if needs_input else None), dict(outputs)
    named: set[str] = set()
    for expression in expressions:
        named |= step_references(expression)
    return (run_input if needs_input else None), {k: v for k, v in outputs.items() if k in named}


def narrowed_input(expressions: list[str], run_input: Any) -> Any:
    """The fields of the run input that `expressions` name (`input.base`), when they read it only
    that way; else the whole input. Each batch of a large map carries its own copy of what it
    reads, so the map's list itself must not travel with every batch."""
    if not isinstance(run_input, dict) or any(_WHOLE_DOCUMENT.search(e) for e in expressions):
        return run_input
    fields = {name for e in expressions for name in _INPUT_FIELD.findall(e)}
    uses = sum(len(_INPUT_WORD.findall(e)) for e in expressions)
    if uses != sum(len(_INPUT_FIELD.findall(e)) for e in expressions):
        return run_input  # `input` read whole, or `input[...]`, `input.`a b``: keep it all
    return {key: value for key, value in run_input.items() if key in fields}
