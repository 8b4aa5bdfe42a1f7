"""The step graph of a definition: edges by port, entrypoint, reachability, split/join pairs."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from segments.models import SegmentDefinition, Step

SPLIT_TYPE = "parallel_split"
JOIN_TYPE = "parallel_join"


@dataclass
class Graph:
    steps: dict[str, Step]
    order: list[str]
    outgoing: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """step_id -> source_port -> target step ids, in edge order."""
    incoming: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, definition: SegmentDefinition) -> Graph:
        steps = {s.step_id: s for s in definition.steps}
        graph = cls(steps=steps, order=[s.step_id for s in definition.steps])
        for step_id in steps:
            graph.outgoing[step_id] = {}
            graph.incoming[step_id] = []
        for edge in definition.edges:
            if edge.source in steps and edge.target in steps:
                graph.outgoing[edge.source].setdefault(edge.source_port, []).append(edge.target)
                graph.incoming[edge.target].append(edge.source)
        return graph

    def targets(self, step_id: str, port: str) -> list[str]:
        return self.outgoing.get(step_id, {}).get(port, [])

    def all_targets(self, step_id: str) -> list[str]:
        return [t for targets in self.outgoing.get(step_id, {}).values() for t in targets]

    def roots(self) -> list[str]:
        """Steps with no incoming edge, in definition order."""
        return [s for s in self.order if not self.incoming[s]]

    def entrypoint(self, declared: str | None) -> str | None:
        if declared is not None:
            return declared if declared in self.steps else None
        roots = self.roots()
        return roots[0] if len(roots) == 1 else None

    def reachable(self, start: str, stop_at: frozenset[str] = frozenset()) -> list[str]:
        """Steps reachable from `start` (itself included), not walking past `stop_at` steps."""
        seen = {start}
        queue = deque([start])
        found = [start]
        while queue:
            current = queue.popleft()
            if current in stop_at and current != start:
                continue
            for target in self.all_targets(current):
                if target not in seen:
                    seen.add(target)
                    found.append(target)
                    queue.append(target)
        return found

    def matching_join(self, split_id: str) -> tuple[str | None, str | None]:
        """The parallel_join that closes a parallel_split, or (None, why not).

        Walks every branch, counting nested splits, until a join at the same nesting level.
        Every branch must reach the same join."""
        joins: set[str] = set()
        branch_starts = self.all_targets(split_id)
        if not branch_starts:
            return None, "it has no outgoing edge, so no branch"
        for start in branch_starts:
            found = self._join_of_branch(start)
            if found is None:
                return None, f"the branch starting at '{start}' never reaches a parallel_join"
            joins.add(found)
        if len(joins) > 1:
            return None, f"its branches end at different joins ({', '.join(sorted(joins))})"
        return joins.pop(), None

    def _join_of_branch(self, start: str) -> str | None:
        seen: set[tuple[str, int]] = set()
        queue = deque([(start, 0)])
        while queue:
            current, level = queue.popleft()
            if (current, level) in seen or level > len(self.steps):
                continue
            seen.add((current, level))
            kind = self.steps[current].type
            if kind == JOIN_TYPE:
                if level == 0:
                    return current
                level -= 1
            elif kind == SPLIT_TYPE:
                level += 1
            for target in self.all_targets(current):
                queue.append((target, level))
        return None
