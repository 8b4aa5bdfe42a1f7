"""What llmteam's runner would hand each step, written as JSONata over this engine's run data.

llmteam gives a step a dict keyed by its input port names, each holding the value under the
source step's output port name (engine/engine.py `_gather_step_input`); the entrypoint gets the
run input itself. Steps here have other output shapes (`llm_agent` gives `{text, usage, ...}`
where llmteam gives `{"output": text}`), so for each step the importer writes:

- `input_of(step)`: the dict llmteam would pass it, built from `steps.<id>.output`;
- `output_of(step, base)`: llmteam's output dict of that step, from this engine's output `base`;
- `port_value(step, port)`: the value an edge from that output port carries.

Where llmteam would take a value from an edge whose source did not lead here (a defect: stale or
`{}` values overwrite the real one), the edge that led here wins: `prev_step` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segments.dialects.llmteam.jsonata_text import field as jfield
from segments.dialects.llmteam.jsonata_text import step_exists, step_output, string

PASS_THROUGH = ("condition", "switch")


def nullable(expression: str) -> str:
    """`expression`, or null where it is undefined (llmteam's dicts hold None, never nothing)."""
    return f"($v := {expression}; $exists($v) ? $v : null)"


@dataclass
class Incoming:
    source: str
    from_port: str
    to_port: str


@dataclass
class BranchInfo:
    """A step that starts a parallel branch: its llmteam input is the branch dict."""

    expression: str


@dataclass
class JoinInfo:
    """A parallel_join: the steps that end each branch, as (branch key, last step, base)."""

    branches: list[tuple[str, str | None, str]]
    strategy: str


@dataclass
class Views:
    entrypoint: str | None
    types: dict[str, str]
    configs: dict[str, dict[str, Any]]
    incoming: dict[str, list[Incoming]] = field(default_factory=dict)
    branch_starts: dict[str, BranchInfo] = field(default_factory=dict)
    joins: dict[str, JoinInfo] = field(default_factory=dict)
    _depth: int = 0

    def input_keys(self, step_id: str) -> list[str] | None:
        """The keys of a step's llmteam input when they are known before the run."""
        if step_id == self.entrypoint or step_id in self.branch_starts:
            return None
        if step_id in self.joins:
            return [key for key, _, _ in self.joins[step_id].branches]
        return list(dict.fromkeys(e.to_port for e in self.incoming.get(step_id, [])))

    def input_of(self, step_id: str) -> str:
        if step_id == self.entrypoint:
            return "input"
        if step_id in self.branch_starts:
            return self.branch_starts[step_id].expression
        if step_id in self.joins:
            pairs = [
                f"{string(key)}: {self.output_of(last, base) if last else 'null'}"
                for key, last, base in self.joins[step_id].branches
            ]
            return "{" + ", ".join(pairs) + "}"
        edges = self.incoming.get(step_id, [])
        if not edges:
            return "{}"
        by_port: dict[str, list[Incoming]] = {}
        for edge in edges:
            by_port.setdefault(edge.to_port, []).append(edge)
        several_ports = len(by_port) > 1
        pairs = []
        for port, port_edges in by_port.items():
            if len(port_edges) == 1:
                edge = port_edges[0]
                value = self.port_value(edge.source, edge.from_port)
                if several_ports:
                    value = f"({step_exists(edge.source)} ? {value} : {{}})"
            else:
                value = "{}"
                for edge in reversed(port_edges):
                    value = (
                        f"(prev_step = {string(edge.source)} ? "
                        f"{self.port_value(edge.source, edge.from_port)} : {value})"
                    )
            pairs.append(f"{string(port)}: {value}")
        return "{" + ", ".join(pairs) + "}"

    def output_of(self, step_id: str, base: str | None = None) -> str:
        """llmteam's output dict of a step, from this engine's output `base` (its own by default)."""
        out = base or step_output(step_id)
        kind = self.types.get(step_id)
        if kind == "llm_agent":
            return f"{{'output': {nullable(out + '.text')}}}"
        if kind == "http_action":
            return f"{{'response': {nullable(out + '.body')}, 'status': {out}.status}}"
        if kind == "condition":
            data = self._guarded_input(step_id)
            return f"({out} = true ? {{'true': {data}}} : {{'false': {data}}})"
        if kind == "switch":
            return f"{{{out}.port: {self._guarded_input(step_id)}}}"
        if kind == "human_task":
            return self._human_output(step_id, out)
        if kind == "parallel_join":
            return f"{{'output': {self._join_list(step_id)}}}"
        if kind == "subworkflow":
            return nullable(out)
        if kind == "parallel_split":
            return self._guarded_input(step_id)
        return f"{{'output': {nullable(out)}}}"  # transform

    def port_value(self, step_id: str, port: str) -> str:
        """The value an edge from `port` of this step carries: llmteam's `out.get(port, out)`."""
        kind = self.types.get(step_id)
        out = step_output(step_id)
        if kind == "llm_agent" and port == "output":
            return nullable(out + ".text")
        if kind == "http_action" and port == "response":
            return nullable(out + ".body")
        if kind == "http_action" and port == "status":
            return f"{out}.status"
        if port == "error" and kind in ("llm_agent", "http_action", "transform", "subworkflow"):
            # routed by on_error: this engine's {"error": {...}} as llmteam's {"type", "message"}
            kind_of, message = nullable(out + ".error.type"), nullable(out + ".error.message")
            return f"{{'type': {kind_of}, 'message': {message}}}"
        if kind in PASS_THROUGH and port != "output":
            return self._guarded_input(step_id)
        if kind == "transform" and port == "output":
            return nullable(out)
        whole = self.output_of(step_id)
        return f"($o := {whole}; {string(port)} in $keys($o) ? $lookup($o, {string(port)}) : $o)"

    def _guarded_input(self, step_id: str) -> str:
        if self._depth > 40:
            return "{}"  # a long chain of pass-through steps: nothing sensible past this depth
        self._depth += 1
        try:
            return self.input_of(step_id)
        finally:
            self._depth -= 1

    def _human_output(self, step_id: str, out: str) -> str:
        data = self._guarded_input(step_id)
        kind = str(self.configs.get(step_id, {}).get("task_type", "approval"))
        responder = nullable(f"{out}.responder")
        comment = nullable(f"{out}.comment")
        response = nullable(f"{out}.data")
        if kind in ("approval",):
            approved = (
                f"{{'data': {data}, 'response_data': {response}, 'responder': {responder}, "
                f"'comment': {comment}}}"
            )
            rejected = (
                f"{{'data': {data}, 'response_data': {response}, 'responder': {responder}, "
                f"'reason': {comment}, 'comment': {comment}}}"
            )
            return f"({out}.decision = 'approve' ? {{'approved': {approved}}} : {{'rejected': {rejected}}})"
        modified_data = f"($d := {out}.data; $exists($d) and $d != null ? $d : {data})"
        return (
            f"{{'modified': {{'data': {modified_data}, 'original_data': {data}, "
            f"'responder': {responder}, 'comment': {comment}}}}}"
        )

    def _join_list(self, step_id: str) -> str:
        join = self.joins.get(step_id)
        if join is None:
            return "[]"
        ordered = sorted(join.branches, key=lambda b: b[0])  # llmteam sorts branch keys as text
        values = [self.output_of(last, base) if last else "null" for _, last, base in ordered]
        if join.strategy == "all":
            return "[" + ", ".join(values) + "]"
        if join.strategy == "first":
            return values[0] if values else "null"
        candidates = "[" + ", ".join(f"({v})" for v in values) + "]"
        first = (
            f"$filter({candidates}, function($r){{ $type($r) = 'object' and $not('error' in $keys($r)) }})[0]"
        )
        return nullable(first)


def branch_base(join_id: str, branch: str | int) -> str:
    """This engine's output of the step that ends one branch of a join."""
    if isinstance(branch, int):
        return f"{step_output(join_id)}.branches[{branch}]"
    return jfield(f"{step_output(join_id)}.branches", branch)
