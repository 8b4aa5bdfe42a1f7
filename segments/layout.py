"""A layered drawing of a definition's graph, for the run page (no layout library in the browser).

Sugiyama-style and deliberately small: edges that close a loop are set aside (found by a depth-
first walk from the entrypoint), every other step goes one layer below the deepest step leading
to it, a few barycentre sweeps order each layer to cut crossings, then coordinates are assigned
top to bottom. Linear in the graph's size per sweep: a 200-step segment lays out in milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from segments.graph import Graph
from segments.models import DEFAULT_SOURCE_PORT, SegmentDefinition
from segments.regions import innermost_region, parallel_regions

NODE_WIDTH = 180
NODE_HEIGHT = 52
GAP_X = 40
GAP_Y = 56
MARGIN = 30
SWEEPS = 6


@dataclass
class NodeBox:
    id: str
    label: str
    type: str
    x: float
    y: float
    w: float = NODE_WIDTH
    h: float = NODE_HEIGHT
    region: str | None = None


@dataclass
class EdgeLine:
    source: str
    target: str
    port: str
    points: list[tuple[float, float]]
    back: bool = False
    """Closes a loop: drawn around the side, upwards."""
    label: str = ""


@dataclass
class RegionBox:
    id: str
    label: str
    x: float
    y: float
    w: float
    h: float


@dataclass
class Layout:
    width: float
    height: float
    entrypoint: str | None
    nodes: list[NodeBox] = field(default_factory=list)
    edges: list[EdgeLine] = field(default_factory=list)
    regions: list[RegionBox] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _back_edges(graph: Graph, starts: list[str]) -> set[tuple[str, str]]:
    """Edges into a step still on the depth-first path: removing them leaves a DAG."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the path, 2 finished
    for start in starts:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            current, index = stack[-1]
            targets = graph.all_targets(current)
            if index < len(targets):
                stack[-1] = (current, index + 1)
                target = targets[index]
                if state.get(target) == 1:
                    back.add((current, target))
                elif target not in state:
                    state[target] = 1
                    stack.append((target, 0))
            else:
                state[current] = 2
                stack.pop()
    return back


def _layers(graph: Graph, order: list[str], back: set[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the roots, over forward edges only (Kahn's order)."""
    indegree = {s: 0 for s in order}
    for source in order:
        for target in graph.all_targets(source):
            if (source, target) not in back:
                indegree[target] += 1
    layer = {s: 0 for s in order}
    ready = [s for s in order if indegree[s] == 0]
    while ready:
        current = ready.pop(0)
        for target in graph.all_targets(current):
            if (current, target) in back:
                continue
            layer[target] = max(layer[target], layer[current] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return layer


def _order_layers(graph: Graph, rows: list[list[str]], back: set[tuple[str, str]]) -> list[list[str]]:
    parents: dict[str, list[str]] = {s: [] for row in rows for s in row}
    children: dict[str, list[str]] = {s: [] for row in rows for s in row}
    for row in rows:
        for source in row:
            for target in graph.all_targets(source):
                if (source, target) not in back:
                    children[source].append(target)
                    parents[target].append(source)
    position = {s: i for row in rows for i, s in enumerate(row)}

    def sweep(sequence: list[list[str]], neighbours: dict[str, list[str]]) -> None:
        for row in sequence:

            def centre(step: str, row: list[str] = row) -> float:
                linked = [position[n] for n in neighbours[step] if n in position]
                return sum(linked) / len(linked) if linked else position[step]

            row.sort(key=centre)
            for i, s in enumerate(row):
                position[s] = i

    for n in range(SWEEPS):
        if n % 2 == 0:
            sweep(rows[1:], parents)
        else:
            sweep(list(reversed(rows[:-1])), children)
    return rows


def layout(definition: SegmentDefinition) -> Layout:
    graph = Graph.build(definition)
    entry = graph.entrypoint(definition.entrypoint)
    starts = ([entry] if entry else []) + graph.roots() + graph.order
    back = _back_edges(graph, starts)
    layer = _layers(graph, graph.order, back)
    depth = max(layer.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for step_id in graph.order:
        rows[layer[step_id]].append(step_id)
    rows = _order_layers(graph, rows, back)
    widest = max((len(row) for row in rows), default=0)
    width = MARGIN * 2 + widest * NODE_WIDTH + max(widest - 1, 0) * GAP_X + NODE_WIDTH  # room for loops
    owner = innermost_region(parallel_regions(graph))
    boxes: dict[str, NodeBox] = {}
    for index, row in enumerate(rows):
        row_width = len(row) * NODE_WIDTH + (len(row) - 1) * GAP_X
        left = (width - NODE_WIDTH - row_width) / 2
        for i, step_id in enumerate(row):
            step = graph.steps[step_id]
            boxes[step_id] = NodeBox(
                id=step_id,
                label=step.label,
                type=step.type,
                x=left + i * (NODE_WIDTH + GAP_X),
                y=MARGIN + index * (NODE_HEIGHT + GAP_Y),
                region=owner.get(step_id),
            )
    height = MARGIN * 2 + depth * NODE_HEIGHT + max(depth - 1, 0) * GAP_Y
    result = Layout(width=width, height=height, entrypoint=entry)
    result.nodes = [boxes[s] for s in graph.order]
    for source in graph.order:
        for port, targets in graph.outgoing[source].items():
            for target in targets:
                is_back = (source, target) in back
                result.edges.append(_edge(boxes[source], boxes[target], port, is_back, width))
    result.regions = _region_boxes(graph, boxes)
    return result


def _edge(a: NodeBox, b: NodeBox, port: str, back: bool, width: float) -> EdgeLine:
    label = "" if port == DEFAULT_SOURCE_PORT else port
    if back or b.y <= a.y:
        side = width - MARGIN / 2
        points = [
            (a.x + a.w, a.y + a.h / 2),
            (side, a.y + a.h / 2),
            (side, b.y + b.h / 2),
            (b.x + b.w, b.y + b.h / 2),
        ]
        return EdgeLine(a.id, b.id, port, points, back=True, label=label)
    start = (a.x + a.w / 2, a.y + a.h)
    end = (b.x + b.w / 2, b.y)
    bend = a.y + a.h + GAP_Y / 2
    points = [start, (start[0], bend), (end[0], bend), end] if start[0] != end[0] else [start, end]
    return EdgeLine(a.id, b.id, port, points, label=label)


def _region_boxes(graph: Graph, boxes: dict[str, NodeBox]) -> list[RegionBox]:
    out = []
    pad = 12
    for region in parallel_regions(graph):
        members = [boxes[s] for s in region.members if s in boxes]
        if not members:
            continue
        x0 = min(b.x for b in members) - pad
        y0 = min(b.y for b in members) - pad - 14
        x1 = max(b.x + b.w for b in members) + pad
        y1 = max(b.y + b.h for b in members) + pad
        out.append(RegionBox(region.split_id, region.label, x0, y0, x1 - x0, y1 - y0))
    return out
