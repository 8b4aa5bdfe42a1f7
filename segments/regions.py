"""The parallel regions of a definition: each `parallel_split`, its join, and the steps of each branch.

Drawings use them to show branches and maps as boxes; a step belongs to the innermost region
that holds it (nested splits give nested regions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segments.graph import SPLIT_TYPE, Graph


@dataclass
class Region:
    split_id: str
    join_id: str | None
    items: str | None
    """The map's `items` expression; None for edge branches (one branch per outgoing edge)."""
    branches: dict[str, list[str]] = field(default_factory=dict)
    """First step of each branch -> the steps of that branch (up to, not including, the join)."""
    parent: str | None = None
    """The split of the enclosing region, if this one is nested."""

    @property
    def members(self) -> set[str]:
        return {s for steps in self.branches.values() for s in steps}

    @property
    def label(self) -> str:
        if self.items is not None:
            return f"map: one branch per item of {self.items}"
        return f"parallel: {len(self.branches)} branches"


def parallel_regions(graph: Graph) -> list[Region]:
    """Every split's region, outermost first; splits without a matching join get no join."""
    regions: list[Region] = []
    for step_id in graph.order:
        step = graph.steps[step_id]
        if step.type != SPLIT_TYPE:
            continue
        join, _ = graph.matching_join(step_id)
        items = step.config.get("items")
        region = Region(step_id, join, str(items) if items is not None else None)
        stop = frozenset({join}) if join else frozenset()
        for start in graph.all_targets(step_id):
            if start == join:
                continue
            region.branches[start] = [s for s in graph.reachable(start, stop) if s != join]
        regions.append(region)
    regions.sort(key=lambda r: -len(r.members))
    for index, region in enumerate(regions):
        for outer in reversed(regions[:index]):
            if region.split_id in outer.members:
                region.parent = outer.split_id
                break
    return regions


def innermost_region(regions: list[Region]) -> dict[str, str]:
    """step_id -> the split id of the smallest region holding it (outermost-first input)."""
    owner: dict[str, str] = {}
    for region in regions:  # later (smaller) regions overwrite
        for step_id in region.members:
            owner[step_id] = region.split_id
    return owner
