"""The names an expression reads at its root, so validation can flag `amount > 1000`.

A JSONata path at the root of an expression must start from a name the engine puts in the
document (`input`, `prev`, `prev_step`, `steps`, `run`, `item`, `index`) or from a `$`
variable. Any other root name is always undefined, so a condition built on it is silently
false: a half-translated llmteam condition (`amount > 1000`) is the usual cause. Names inside a
path's later steps, predicates, sort terms and group-by mappings are relative to the path's
current value (`input.items[price > 100].sku`) and are fine.

Walks jsonata-python's processed syntax tree; a tree it does not know is walked generously
(every child in the root context) so that the check can only err on the side of reporting.
"""

from __future__ import annotations

from typing import Any

from jsonata import Jsonata

ROOT_NAMES = frozenset({"input", "prev", "prev_step", "steps", "run", "item", "index"})

_CHILD_FIELDS = (
    "lhs",
    "rhs",
    "procedure",
    "arguments",
    "expressions",
    "condition",
    "then",
    "_else",
    "body",
    "expression",
    "expr",
)
_RELATIVE_FIELDS = ("stages", "predicate", "group", "terms", "rhs_terms", "pattern", "update", "delete")


def unknown_root_names(compiled: Jsonata) -> list[str]:
    """Root names of a compiled expression that the engine never defines, in order, once each."""
    found: dict[str, None] = {}
    _walk(compiled.ast, found, depth=0)
    return [name for name in found if name not in ROOT_NAMES]


def _walk(node: Any, found: dict[str, None], depth: int) -> None:
    if node is None or depth > 200:
        return
    if isinstance(node, list | tuple):
        for item in node:
            _walk(item, found, depth + 1)
        return
    kind = getattr(node, "type", None)
    if kind is None:
        return
    if kind == "name":
        found.setdefault(str(node.value), None)
        return
    if kind == "path":
        steps = node.steps or []
        if steps:
            first = steps[0]
            if getattr(first, "type", None) == "name":
                found.setdefault(str(first.value), None)
            else:
                _walk_children(first, found, depth)
        return
    if kind == "unary" and node.value == "{" and node.lhs_object:
        for key, value in node.lhs_object:
            _walk(key, found, depth + 1)
            _walk(value, found, depth + 1)
        return
    if kind == "unary" and node.value == "[":
        _walk(node.expressions, found, depth + 1)
        return
    _walk_children(node, found, depth)


def _walk_children(node: Any, found: dict[str, None], depth: int) -> None:
    for name in _CHILD_FIELDS:
        child = getattr(node, name, None)
        if child is not None and not isinstance(child, str | int | float | bool):
            _walk(child, found, depth + 1)
    # _RELATIVE_FIELDS (predicates, sort terms, group-by) are relative: deliberately not walked.


__all__ = ["ROOT_NAMES", "unknown_root_names"]
