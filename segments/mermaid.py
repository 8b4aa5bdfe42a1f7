"""A definition as a Mermaid `flowchart`: steps labelled by name and type, edges by port.

Conditions are diamonds, human tasks rounded, splits and joins hexagons; the steps of each
parallel branch sit in a subgraph (a map's body is one subgraph, "one branch per item"), and
edges taken on the `error` port are dotted. Node ids are derived from step ids (Mermaid accepts
only a few characters in ids); labels are escaped, so any step name draws.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from segments.dialects.loader import load_definition
from segments.graph import JOIN_TYPE, SPLIT_TYPE, Graph
from segments.models import DEFAULT_SOURCE_PORT, SegmentDefinition
from segments.regions import Region, innermost_region, parallel_regions

_SHAPES = {
    "condition": ("{", "}"),
    "human_task": ("([", "])"),
    SPLIT_TYPE: ("{{", "}}"),
    JOIN_TYPE: ("{{", "}}"),
}
_CLASSES = {
    "condition": "condition",
    "human_task": "human",
    SPLIT_TYPE: "parallel",
    JOIN_TYPE: "parallel",
}
_STYLES = (
    "classDef condition fill:#fff7e0,stroke:#b58900",
    "classDef human fill:#e8f0ff,stroke:#2b6cb0",
    "classDef parallel fill:#f0f0f0,stroke:#555",
    "classDef start fill:#222,stroke:#222",
)


class CannotDraw(ValueError):
    """The data is not a definition that can be drawn; the message says where and why."""


def draw_any(data: Any) -> tuple[str, str]:
    """(segment_id, Mermaid text) of a definition in any dialect: an llmteam export is drawn as
    its translation, through the same loader the CLI, client and gateway use to run it."""
    if not isinstance(data, dict):
        raise CannotDraw("a definition is a JSON object with steps and edges")
    loaded = load_definition(data)
    if loaded.problems or not isinstance(loaded.definition, dict):
        raise CannotDraw("; ".join(str(p) for p in loaded.problems) or "the export does not translate")
    try:
        definition = SegmentDefinition.from_dict(loaded.definition)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CannotDraw(f"{where}: {first['msg']} (validation lists every problem)") from None
    return definition.segment_id, to_mermaid(definition)


def escape_label(text: str) -> str:
    """Text that is safe inside a quoted Mermaid label (entity codes for the special characters)."""
    replacements = {"&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;", "`": "#96;"}
    out = "".join(replacements.get(ch, ch) for ch in text)
    return " ".join(out.split())


class _Ids:
    """Mermaid node ids: the step id's word characters, made unique."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._used: set[str] = {"start", "end", "graph", "subgraph", "flowchart", "class", "style"}

    def __call__(self, step_id: str) -> str:
        if step_id not in self._ids:
            base = "s_" + (re.sub(r"\W", "_", step_id, flags=re.ASCII) or "step")
            candidate, n = base, 1
            while candidate in self._used:
                n += 1
                candidate = f"{base}_{n}"
            self._used.add(candidate)
            self._ids[step_id] = candidate
        return self._ids[step_id]


def to_mermaid(definition: SegmentDefinition, direction: str = "TD") -> str:
    """The definition as Mermaid text (`flowchart TD` by default)."""
    graph = Graph.build(definition)
    ids = _Ids()
    regions = parallel_regions(graph)
    owner = innermost_region(regions)
    lines = [f"flowchart {direction}"]
    title = definition.name or definition.segment_id
    version = f" v{escape_label(definition.version)}" if definition.version else ""
    lines.append(f"  %% {escape_label(title)}{version}")

    def node(step_id: str, indent: str) -> str:
        step = graph.steps[step_id]
        left, right = _SHAPES.get(step.type, ("[", "]"))
        label = escape_label(step.label)
        kind = escape_label(step.type)
        detail = f"{label}<br/><i>{kind}</i>"
        css = _CLASSES.get(step.type)
        return f'{indent}{ids(step_id)}{left}"{detail}"{right}' + (f":::{css}" if css else "")

    def emit_region(region: Region | None, indent: str) -> None:
        scope = region.split_id if region else None
        if region is not None:
            lines.append(f'{indent}subgraph {ids(region.split_id)}__region["{escape_label(region.label)}"]')
            indent += "  "
        inner = {r.split_id: r for r in regions if r.parent == scope and r is not region}
        for step_id in graph.order:
            if owner.get(step_id) == scope:
                lines.append(node(step_id, indent))
                if step_id in inner:
                    emit_region(inner[step_id], indent)
        if region is not None:
            lines.append(indent[:-2] + "end")

    emit_region(None, "  ")
    entry = graph.entrypoint(definition.entrypoint)
    if entry is not None:
        lines.append('  start(("start")):::start')
        lines.append(f"  start --> {ids(entry)}")
    maps = {r.split_id for r in regions if r.items is not None}
    for step_id in graph.order:
        for port, targets in graph.outgoing[step_id].items():
            for target in targets:
                lines.append("  " + _edge(ids(step_id), ids(target), port, step_id in maps))
    lines.extend("  " + style for style in _STYLES)
    return "\n".join(lines) + "\n"


def _edge(source: str, target: str, port: str, from_map: bool) -> str:
    label = "each item" if from_map else ("" if port == DEFAULT_SOURCE_PORT else port)
    if port == "error":
        arrow = "-.->"
    elif from_map:
        arrow = "==>"
    else:
        arrow = "-->"
    text = f'|"{escape_label(label)}"|' if label else ""
    return f"{source} {arrow}{text} {target}"
