"""llmteam 2.x SegmentDefinition / 5.x WorkflowDefinition JSON -> this engine's SegmentDefinition.

Pure and deterministic (the workflow itself calls it). The translation follows the graph as
drawn, with llmteam's intended meaning (see docs/llmteam.md): ports route, every edge from the
port taken is followed, an edge `condition` naming a port routes by that port, and data moves as
llmteam moves it (views.py). What has no faithful translation is a problem at the original's
path; what is approximated is a note there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from segments.dialects.llmteam.conditions import ConditionError, translate_condition
from segments.dialects.llmteam.jsonata_text import escape_text, step_exists, string, template, with_helpers
from segments.dialects.llmteam.prompts import prompt_expression
from segments.dialects.llmteam.switch_cases import UnsafeCase, translate_case
from segments.dialects.llmteam.transforms import TransformError, translate_transform
from segments.dialects.llmteam.views import BranchInfo, Incoming, JoinInfo, Views, branch_base

KNOWN_TYPES = (
    "llm_agent",
    "http_action",
    "human_task",
    "condition",
    "parallel_split",
    "parallel_join",
    "transform",
    "switch",
    "subworkflow",
)
DEFAULT_REF = "default"
_DATA_KEYS = {
    "llm_agent": ("output",),
    "http_action": ("response", "status"),
    "transform": ("output",),
    "parallel_join": ("output",),
    "subworkflow": ("output",),
}


@dataclass(frozen=True)
class Remark:
    path: str
    message: str


@dataclass
class Translation:
    """The result: `definition` (None when a problem prevents it), problems and notes at the
    original's paths, and how the translation's paths map back to the original's."""

    definition: dict[str, Any] | None
    problems: list[Remark] = field(default_factory=list)
    notes: list[Remark] = field(default_factory=list)
    edge_origin: list[int] = field(default_factory=list)
    config_origin: dict[int, dict[str, str]] = field(default_factory=dict)
    llmteam_version: str = "2.x"

    def original_path(self, path: str) -> str:
        """A path in the translation (`edges[3].source_port`) as the original's (`edges[1].from_port`)."""
        if path.startswith("edges["):
            index_text, _, rest = path[len("edges[") :].partition("]")
            if index_text.isdigit() and int(index_text) < len(self.edge_origin):
                renamed = {".source": ".from", ".target": ".to", ".source_port": ".from_port"}
                for ours, theirs in renamed.items():
                    if rest == ours or rest.startswith(ours + "."):
                        rest = theirs + rest[len(ours) :]
                        break
                return f"edges[{self.edge_origin[int(index_text)]}]{rest}"
        if path.startswith("steps["):
            index_text, _, rest = path[len("steps[") :].partition("]")
            prefix = ".config."
            if index_text.isdigit() and rest.startswith(prefix):
                key, dot, tail = rest[len(prefix) :].partition(".")
                theirs = self.config_origin.get(int(index_text), {}).get(key.split("[")[0], key.split("[")[0])
                return f"steps[{index_text}]{prefix}{theirs}{key[len(key.split('[')[0]) :]}{dot}{tail}"
        return path


class _Translator:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.result = Translation(definition=None)
        self.result.llmteam_version = "5.x" if "workflow_id" in data else "2.x"
        self.steps: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}
        self.edges: list[tuple[int, dict[str, Any]]] = []
        self.on_error_route: set[str] = set()
        self.split_edges: set[int] = set()

    def problem(self, path: str, message: str) -> None:
        self.result.problems.append(Remark(path, message))

    def note(self, path: str, message: str) -> None:
        self.result.notes.append(Remark(path, message))

    # --- reading the original -------------------------------------------------------------

    def read(self) -> bool:
        data = self.data
        segment_id = data.get("workflow_id") or data.get("segment_id")
        if not isinstance(segment_id, str) or not segment_id:
            self.problem(
                "workflow_id" if self.result.llmteam_version == "5.x" else "segment_id", "is required"
            )
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.problem("steps", "is required: a list of llmteam steps")
            return False
        for i, raw in enumerate(raw_steps):
            if not isinstance(raw, dict):
                self.problem(f"steps[{i}]", "is not an object")
                continue
            step_id = raw.get("step_id")
            kind = raw.get("type", raw.get("step_type"))
            if not isinstance(step_id, str) or not step_id:
                self.problem(f"steps[{i}].step_id", "is required")
                continue
            if step_id in self.index:
                self.problem(
                    f"steps[{i}].step_id", f"'{step_id}' is also the id of steps[{self.index[step_id]}]"
                )
                continue
            if kind == "team":
                self.problem(
                    f"steps[{i}].type",
                    f"step '{step_id}' is an llmteam `team` (an LLMTeam agent group run in-process by "
                    "llmteam): it has no faithful translation here and is refused; replace it with "
                    "llm_agent steps (one per agent) joined by edges",
                )
            elif kind not in KNOWN_TYPES:
                self.problem(
                    f"steps[{i}].type",
                    f"llmteam step type '{kind}' has no translation; "
                    f"types translated: {', '.join(KNOWN_TYPES)}",
                )
            config = raw.get("config", {})
            if not isinstance(config, dict):
                self.problem(f"steps[{i}].config", "is not an object")
                config = {}
            self.index[step_id] = i
            self.steps.append({**raw, "type": kind, "config": config})
        raw_edges = data.get("edges", [])
        if not isinstance(raw_edges, list):
            self.problem("edges", "is not a list")
            raw_edges = []
        for j, edge in enumerate(raw_edges):
            if not isinstance(edge, dict):
                self.problem(f"edges[{j}]", "is not an object")
                continue
            for end in ("from", "to"):
                if edge.get(end) not in self.index:
                    self.problem(f"edges[{j}].{end}", f"no step '{edge.get(end)}'")
            unknown = set(edge) - {"from", "to", "from_port", "to_port", "condition"}
            for key in sorted(unknown):
                self.problem(f"edges[{j}].{key}", "is not a field of an llmteam edge")
            self.edges.append((j, edge))
        entry = data.get("entrypoint")
        if entry is not None and entry not in self.index:
            self.problem("entrypoint", f"no step '{entry}'")
        return not self.result.problems

    # --- the graph ------------------------------------------------------------------------

    def build_views(self) -> Views:
        types = {s["step_id"]: s["type"] for s in self.steps}
        configs = {s["step_id"]: s["config"] for s in self.steps}
        views = Views(entrypoint=self.data.get("entrypoint"), types=types, configs=configs)
        for j, edge in self.edges:
            source, target = edge["from"], edge["to"]
            if types.get(source) == "parallel_split":
                self.split_edges.add(j)
                continue
            if types.get(target) == "parallel_join":
                continue  # the join's input is the branch results, not its edges (llmteam :1090-1163)
            views.incoming.setdefault(target, []).append(
                Incoming(source, str(edge.get("from_port", "output")), str(edge.get("to_port", "input")))
            )
        self._order_incoming(views)
        for step in self.steps:
            if step["type"] == "parallel_split":
                self._split(step, views)
        return views

    def _order_incoming(self, views: Views) -> None:
        """llmteam gathers edges grouped by source, in order of the source's first edge."""
        first_seen: dict[str, int] = {}
        for j, edge in self.edges:
            first_seen.setdefault(edge["from"], j)
        for target, incoming in views.incoming.items():
            views.incoming[target] = sorted(incoming, key=lambda e: first_seen.get(e.source, 0))

    def _split(self, step: dict[str, Any], views: Views) -> None:
        split_id = step["step_id"]
        i = self.index[split_id]
        config = step["config"]
        count = config.get("branches", 2)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100:
            self.problem(f"steps[{i}].config.branches", "is not a whole number from 1 to 100")
            return
        outgoing = [(j, e) for j, e in self.edges if e["from"] == split_id]
        if not outgoing:
            self.problem(f"steps[{i}]", f"parallel_split '{split_id}' has no outgoing edge")
            return
        starts: list[tuple[str, int]] = []
        for k in range(1, count + 1):
            chosen = next(((j, e) for j, e in outgoing if e.get("from_port") == f"branch_{k}"), outgoing[0])
            starts.append((chosen[1]["to"], chosen[0]))
        split_in = views.input_of(split_id)
        split_field = config.get("split_field")
        dicts = [self._branch_dict(split_in, k, count, split_field) for k in range(count)]
        targets = [t for t, _ in starts]
        join = self._join_after(targets[0])
        if join is None:
            self.problem(f"steps[{i}]", f"no parallel_join closes the branches of '{split_id}'")
            return
        join_id, _ = join
        strategy = str(self.steps[self.index[join_id]]["config"].get("merge_strategy", "all"))
        if len(set(targets)) == count:
            for target, branch_dict in zip(targets, dicts, strict=True):
                views.branch_starts[target] = BranchInfo(branch_dict)
            branches = [
                (f"branch_{k + 1}", self._last_before(targets[k], join_id), branch_base(join_id, targets[k]))
                for k in range(count)
            ]
            step["_branch_edges"] = [(t, j) for t, j in starts]
        elif len(set(targets)) == 1:
            views.branch_starts[targets[0]] = BranchInfo("item")
            step["_items"] = "[" + ", ".join(dicts) + "]"
            step["_branch_edges"] = [starts[0]]
            branches = [
                (f"branch_{k + 1}", self._last_before(targets[0], join_id), branch_base(join_id, k))
                for k in range(count)
            ]
            self.note(
                f"steps[{i}]",
                f"every branch starts at '{targets[0]}' (llmteam's default when no edge leaves by "
                f"branch_k): translated as a map over {count} branch inputs",
            )
        else:
            self.problem(
                f"steps[{i}]",
                "some branches share a first step and some do not; give each branch_k port its own edge",
            )
            return
        views.joins[join_id] = JoinInfo(branches, strategy)

    @staticmethod
    def _branch_dict(split_in: str, k: int, count: int, split_field: Any) -> str:
        extra = f"{{'_branch_index': {k}, '_total_branches': {count}}}"
        if isinstance(split_field, str) and split_field:
            items = (
                f"($l := $lookup($s, {string(split_field)}); $type($l) = 'array' ? "
                f"$filter($l, function($v, $i){{ $i - {count} * $floor($i / {count}) = {k} }}) : $l)"
            )
            return (
                f"($s := {split_in}; $type($lookup($s, {string(split_field)})) = 'array' ? "
                f"$merge([$s, {{{string(split_field)}: $append([], {items})}}, {extra}]) : $s)"
            )
        return f"($s := {split_in}; $type($s) = 'object' ? $merge([$s, {extra}]) : $s)"

    def _join_after(self, start: str) -> tuple[str, int] | None:
        seen = {start}
        frontier = [start]
        while frontier:
            current = frontier.pop(0)
            step = self.steps[self.index[current]]
            if step["type"] == "parallel_join":
                return current, self.index[current]
            for _, edge in self.edges:
                if edge["from"] == current and edge["to"] not in seen:
                    seen.add(edge["to"])
                    frontier.append(edge["to"])
        return None

    def _last_before(self, start: str, join_id: str) -> str | None:
        """The step of a branch whose edge enters the join (llmteam: the value last inserted)."""
        current = start
        for _ in range(len(self.steps)):
            if current == join_id:
                return None
            nexts = [e["to"] for _, e in self.edges if e["from"] == current]
            if join_id in nexts or not nexts:
                return current
            current = nexts[0]
        return current

    # --- steps ----------------------------------------------------------------------------

    def translate_steps(self, views: Views) -> list[dict[str, Any]]:
        out = []
        for step in self.steps:
            i = self.index[step["step_id"]]
            ours: dict[str, Any] = {"step_id": step["step_id"], "type": step["type"]}
            if step.get("name"):
                ours["name"] = step["name"]
            for key in ("position", "ui"):
                if key in step:
                    ours[key] = step[key]
            config, origin = self._config(step, i, views)
            ours["config"] = config
            self.result.config_origin[i] = origin
            out.append(ours)
        return out

    def _config(self, step: dict[str, Any], i: int, views: Views) -> tuple[dict[str, Any], dict[str, str]]:
        kind = step["type"]
        step_id = step["step_id"]
        config = step["config"]
        data = views.input_of(step_id)
        keys = views.input_keys(step_id)
        path = f"steps[{i}].config"
        if kind == "llm_agent":
            return self._llm(config, data, keys, path)
        if kind == "http_action":
            return self._http(config, data, keys, path)
        if kind == "transform":
            try:
                transform = translate_transform(config, data, keys)
            except TransformError as err:
                self.problem(path, str(err))
                return {"expression": "null"}, {}
            for message in transform.notes:
                self.note(f"{path}.expression", message)
            source = (
                "jsonpath" if "jsonpath" in config else "mapping" if config.get("mapping") else "expression"
            )
            return {"expression": transform.jsonata}, {"expression": source}
        if kind == "condition":
            try:
                condition = translate_condition(str(config.get("expression", "")), data)
            except ConditionError as err:
                self.problem(f"{path}.expression", str(err))
                return {"expression": "false"}, {}
            for message in condition.notes:
                self.note(f"{path}.expression", message)
            return {"expression": condition.jsonata}, {}
        if kind == "human_task":
            return self._human(step, config, path)
        if kind == "parallel_split":
            ours: dict[str, Any] = {}
            if step.get("_items"):
                ours["items"] = with_helpers(step["_items"])
            return ours, {"items": "branches"}
        if kind == "parallel_join":
            strategy = config.get("merge_strategy", "all")
            if strategy not in ("all", "any", "first"):
                self.problem(f"{path}.merge_strategy", f"'{strategy}' is not all, any or first")
            if strategy == "any":
                self.note(
                    f"{path}.merge_strategy",
                    "any: the join goes on with the first branch to succeed and cancels the others "
                    "(llmteam waits for all, then takes the first truthy result without an error)",
                )
            return {"policy": "any" if strategy == "any" else "all"}, {"policy": "merge_strategy"}
        if kind == "switch":
            return self._switch(config, data, keys, path)
        if kind == "subworkflow":
            return self._subworkflow(config, data, path)
        return {}, {}

    def _llm(
        self, config: dict[str, Any], data: str, keys: list[str] | None, path: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        ref = config.get("llm_ref") or DEFAULT_REF
        if "llm_ref" not in config:
            self.note(f"{path}.llm_ref", f"no llm_ref: the model ref '{DEFAULT_REF}' (as llmteam does)")
        if "model" in config:
            self.note(f"{path}.model", "llmteam never reads `model`; the model comes from the llm_ref")
        context = self.result.llmteam_version == "5.x"
        prompt = prompt_expression(config, data, keys, context)
        ours: dict[str, Any] = {
            "llm_ref": ref,
            "prompt": template(prompt),
            "temperature": config.get("temperature", 0.7),
            "max_tokens": config.get("max_tokens", 1000),
        }
        if config.get("system_prompt"):
            ours["system"] = escape_text(str(config["system_prompt"]))
        origin = {"llm_ref": "llm_ref", "system": "system_prompt"}
        origin["prompt"] = "prompt_template_id" if config.get("prompt_template_id") else "prompt"
        return ours, origin

    def _http(
        self, config: dict[str, Any], data: str, keys: list[str] | None, path: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        method = str(config.get("method", "POST")).upper()
        if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            self.problem(f"{path}.method", f"'{method}' is not a method llmteam sends")
        raw_path = str(config.get("path", "/"))
        ours: dict[str, Any] = {
            "connection": config.get("client_ref") or DEFAULT_REF,
            "path": escape_text(raw_path),
            "method": method,
        }
        headers = config.get("headers")
        if isinstance(headers, dict) and headers:
            ours["headers"] = {str(k): escape_text(str(v)) for k, v in headers.items()}
        if method not in ("GET", "DELETE"):
            if keys is None:
                body = f"($i := {data}; 'body' in $keys($i) ? $i.body : $i)"
            else:
                body = f"({data}).body" if "body" in keys else data
            ours["body"] = template(body)
        timeout = config.get("timeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
            ours["timeout"] = f"PT{_seconds(float(timeout))}S"
        if "retry_count" in config:
            self.note(f"{path}.retry_count", "llmteam never reads retry_count; the step's retry applies")
        return ours, {"connection": "client_ref", "path": "path", "method": "method", "timeout": "timeout"}

    def _human(
        self, step: dict[str, Any], config: dict[str, Any], path: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        kind = config.get("task_type", "approval")
        if kind not in ("approval", "input", "review", "choice"):
            self.problem(f"{path}.task_type", f"'{kind}' is not approval, input, review or choice")
            kind = "approval"
        title = config.get("title") or step.get("name") or step["step_id"]
        ours: dict[str, Any] = {"kind": kind, "title": escape_text(str(title))}
        if config.get("description"):
            ours["description"] = escape_text(str(config["description"]))
        if config.get("assignee_ref"):
            ours["assignee"] = str(config["assignee_ref"])
        hours = config.get("timeout_hours", 24)
        if isinstance(hours, int | float) and not isinstance(hours, bool) and hours > 0:
            ours["timeout"] = (
                f"PT{_seconds(float(hours) * 3600)}S" if not float(hours).is_integer() else f"PT{int(hours)}H"
            )
        else:
            self.problem(f"{path}.timeout_hours", "is not a positive number of hours")
        chain = config.get("escalation_chain")
        if isinstance(chain, list) and chain:
            ours["escalation"] = [str(name) for name in chain]
        ours["on_timeout"] = "fail"
        if kind == "choice":
            choices = config.get("choices") or []
            if not isinstance(choices, list) or not choices:
                self.problem(f"{path}.choices", "a choice task needs its list of choices")
            else:
                ours["options"] = [{"id": str(n), "label": str(label)} for n, label in enumerate(choices)]
        if kind == "input" and isinstance(config.get("input_schema"), dict):
            ours["input_schema"] = config["input_schema"]
        origin = {
            "kind": "task_type",
            "assignee": "assignee_ref",
            "timeout": "timeout_hours",
            "escalation": "escalation_chain",
            "options": "choices",
        }
        return ours, origin

    def _switch(
        self, config: dict[str, Any], data: str, keys: list[str] | None, path: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        target = config.get("target")
        value = (
            prompt_expression({"prompt": str(target)}, data, keys, False) if target is not None else "null"
        )
        if isinstance(target, str) and "{" in target:
            self.note(
                f"{path}.target",
                "placeholders in target are filled from the step's input, as in a prompt "
                "(llmteam compares the raw text, so a case could never match them)",
            )
        cases = []
        raw_cases = config.get("cases", [])
        if not isinstance(raw_cases, list):
            self.problem(f"{path}.cases", "is not a list")
            raw_cases = []
        for n, case in enumerate(raw_cases):
            case_path = f"{path}.cases[{n}]"
            if not isinstance(case, dict) or not case.get("port"):
                self.problem(case_path, "a case needs a port")
                continue
            if "value" in case:
                cases.append({"port": str(case["port"]), "equals": _python_str(case["value"])})
            elif "expression" in case:
                try:
                    when = translate_case(str(case["expression"]), "$ps(" + value + ")", data)
                except UnsafeCase as err:
                    self.problem(
                        f"{case_path}.expression",
                        f"llmteam runs this with Python eval; it is refused because it {err}",
                    )
                    continue
                cases.append({"port": str(case["port"]), "when": with_helpers(when)})
            else:
                self.problem(case_path, "a case needs `value` or `expression`")
        ours: dict[str, Any] = {
            "value": with_helpers(f"$ps({value})") if target is not None else "null",
            "cases": cases,
            "default": str(config.get("default_port", "default")),
        }
        return ours, {"value": "target", "default": "default_port"}

    def _subworkflow(
        self, config: dict[str, Any], data: str, path: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        segment = config.get("segment_id") or config.get("segment_ref")
        if not isinstance(segment, str) or not segment:
            self.problem(path, "a subworkflow needs segment_id or segment_ref")
            segment = "?"
        version = "1.0"
        for separator in ("@", ":"):
            if separator in segment:
                segment, version = segment.split(separator, 1)
        mapping = config.get("input_mapping") or {}
        if isinstance(mapping, dict) and mapping:
            pairs = ", ".join(
                f"{string(str(child))}: $lookup($i, {string(str(parent))})"
                for child, parent in mapping.items()
            )
            child_input = f"($i := {data}; {{{pairs}}})"
        else:
            child_input = data
        self.note(
            f"{path}.segment_id",
            f"the child is read from the definitions store as '{segment}' version '{version}'",
        )
        ours = {"segment_ref": {"segment_id": segment, "version": version}, "input": template(child_input)}
        return ours, {"segment_ref": "segment_id", "input": "input_mapping"}

    # --- edges ----------------------------------------------------------------------------

    def translate_edges(self, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_id = {s["step_id"]: s for s in self.steps}
        ours: list[dict[str, Any]] = []
        seen: set[tuple[str, str, str]] = set()

        def add(source: str, port: str, target: str, origin: int) -> None:
            if (source, port, target) in seen:
                return
            seen.add((source, port, target))
            edge: dict[str, Any] = {"source": source, "target": target}
            if port != "out":
                edge["source_port"] = port
            ours.append(edge)
            self.result.edge_origin.append(origin)

        for step in self.steps:
            for target, origin in step.get("_branch_edges", []):
                add(step["step_id"], "out", target, origin)
        for j, edge in self.edges:
            if j in self.split_edges:
                continue
            source = by_id[edge["from"]]
            for port in self._route_ports(source, edge, j):
                add(edge["from"], port, edge["to"], j)
        for step in steps:
            if step["step_id"] in self.on_error_route:
                step["on_error"] = "route"
        return ours

    def _route_ports(self, source: dict[str, Any], edge: dict[str, Any], j: int) -> list[str]:
        kind = source["type"]
        from_port = str(edge.get("from_port", "output"))
        condition = edge.get("condition")
        cond = str(condition).strip() if condition is not None else None
        lowered = cond.lower() if cond is not None else None
        path = f"edges[{j}]"
        if lowered == "false" and kind not in ("condition",):
            self.note(
                f"{path}.condition", "the literal `false`: llmteam never takes this edge, so it is left out"
            )
            return []
        if kind == "condition":
            if from_port in ("true", "false"):
                return [from_port]
            if lowered in ("true", "false"):
                return [lowered]
            self.problem(
                f"{path}.from_port",
                "an edge from a condition step leaves by port `true` or `false` (llmteam takes the "
                "first edge whatever the condition decided)",
            )
            return []
        if kind == "switch":
            ports = [str(c.get("port")) for c in source["config"].get("cases", []) if isinstance(c, dict)]
            ports.append(str(source["config"].get("default_port", "default")))
            for candidate in (from_port, cond):
                if candidate in ports:
                    return [candidate]
            self.problem(
                f"{path}.from_port", f"a switch's edge leaves by one of its ports: {', '.join(ports)}"
            )
            return []
        if kind == "human_task":
            return self._human_ports(source, from_port, cond, path)
        if from_port == "error" or cond == "error":
            self.on_error_route.add(source["step_id"])
            return ["error"]
        if cond is None or lowered == "true":
            return ["out"]
        if cond in _DATA_KEYS.get(kind, ()):
            self.note(
                f"{path}.condition",
                f"'{cond}' is in every successful {kind} output, so the edge is taken on success",
            )
            return ["out"]
        self.problem(
            f"{path}.condition",
            f"'{cond}' is not a key of a {kind} step's output ({', '.join(_DATA_KEYS.get(kind, ()))}, "
            "error); llmteam fails the run when it tests this edge",
        )
        return []

    def _human_ports(self, source: dict[str, Any], from_port: str, cond: str | None, path: str) -> list[str]:
        config = source["config"]
        kind = config.get("task_type", "approval")
        if kind == "choice":
            return [str(n) for n in range(len(config.get("choices") or []))]
        if kind in ("input", "review"):
            return ["out"]
        for candidate in (from_port, cond):
            if candidate in ("approved", "rejected"):
                return [candidate]
        if "modified" in (from_port, cond):
            self.note(f"{path}", "an approval is never `modified`: this edge is left out")
            return []
        self.note(
            path,
            "no port or condition says which answer leads here: taken after approval and after rejection, "
            "as llmteam takes it",
        )
        return ["approved", "rejected"]

    # --- the run's result -----------------------------------------------------------------

    def output(self, views: Views) -> str:
        """llmteam's run output is the output dict of the step that ended its path: the latest
        step (in graph order) that ran, outside parallel branches."""
        inside = {s for info in views.joins.values() for s in self._branch_steps(info, views)}
        order = self._topological([s["step_id"] for s in self.steps])
        candidates = [s for s in reversed(order) if s not in inside]
        expression = "null"
        for step_id in reversed(candidates):
            expression = f"{step_exists(step_id)} ? {views.output_of(step_id)} : {expression}"
        return template(f"({expression})")

    def _branch_steps(self, info: JoinInfo, views: Views) -> set[str]:
        found: set[str] = set()
        for start in views.branch_starts:
            current: str | None = start
            while (
                current is not None and current not in found and views.types.get(current) != "parallel_join"
            ):
                found.add(current)
                nexts = [e["to"] for _, e in self.edges if e["from"] == current]
                current = nexts[0] if nexts else None
        return found

    def _topological(self, ids: list[str]) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(node: str) -> None:
            stack = [(node, iter([e["to"] for _, e in self.edges if e["from"] == node]))]
            state[node] = 1
            while stack:
                current, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    state[current] = 2
                    order.append(current)
                elif state.get(child, 0) == 0:
                    state[child] = 1
                    stack.append((child, iter([e["to"] for _, e in self.edges if e["from"] == child])))

        entry = self.data.get("entrypoint")
        for node in ([entry] if entry in self.index else []) + ids:
            if state.get(node, 0) == 0:
                visit(node)
        return list(reversed(order))


def _seconds(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.3f}".rstrip("0")


def _python_str(value: Any) -> str:
    """str(value) as Python prints it, for a switch case's `value` (llmteam compares str() of both)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "None"
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, dict | list):
        return repr(value)
    return str(value)


def translate(data: dict[str, Any]) -> Translation:
    """Translate one llmteam export; see Translation."""
    translator = _Translator(data)
    if not translator.read():
        return translator.result
    views = translator.build_views()
    steps = translator.translate_steps(views)
    edges = translator.translate_edges(steps)
    if translator.result.problems:
        return translator.result
    segment_id = data.get("workflow_id") or data.get("segment_id")
    definition: dict[str, Any] = {"segment_id": segment_id}
    for key in ("name", "description", "version"):
        if data.get(key):
            definition[key] = data[key]
    if data.get("entrypoint"):
        definition["entrypoint"] = data["entrypoint"]
    definition["steps"] = steps
    definition["edges"] = edges
    definition["output"] = translator.output(views)
    if data.get("metadata"):
        definition["metadata"] = data["metadata"]
    translator.result.definition = definition
    return translator.result
