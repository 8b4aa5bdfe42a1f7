"""Validation of a SegmentDefinition: every problem at once, each with a path and a fix.

Runs before any run starts (CLI `validate`, the gateway) and again when a run starts, where
problems fail the run at once without retries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from segments.catalog import Catalog
from segments.dialects import LLMTEAM, detect_dialect
from segments.errors import SegmentError
from segments.expression_roots import ROOT_NAMES, unknown_root_names
from segments.expressions import (
    ExpressionError,
    compile_expression,
    is_template,
    is_text_template,
    iter_templates,
    step_references,
)
from segments.graph import SPLIT_TYPE, Graph
from segments.models import Edge, SegmentDefinition, Step
from segments.parallel_checks import parallel_problems
from segments.rules_version import legacy_rules_active
from segments.schemas import checked_problem, local_reference_problems
from segments.step_configs.subworkflow import SubworkflowConfig

_LIST_LIMIT = 12
EDGE_UI_KEYS = frozenset({"id", "label", "description", "ui"})
"""Keys an edge may carry besides its ends and ports: canvas data the engine ignores and keeps."""


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class InvalidSegment(SegmentError):
    """A definition with problems; `problems` lists each one."""

    def __init__(self, segment_id: str | None, problems: list[Problem]) -> None:
        self.segment_id = segment_id
        self.problems = problems
        count = len(problems)
        head = f"segment '{segment_id}'" if segment_id else "the segment"
        lines = "\n".join(f"- {p}" for p in problems)
        super().__init__(f"{head} is not valid ({count} problem{'s' if count != 1 else ''}):\n{lines}")


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_LIMIT])
    return shown + (f", … ({len(items) - _LIST_LIMIT} more)" if len(items) > _LIST_LIMIT else "")


def _loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _pydantic_problems(prefix: str, err: ValidationError, raw: Any = None) -> list[Problem]:
    problems = []
    for detail in err.errors(include_url=False):
        if raw is not None and is_template(detail.get("input")):
            continue  # a template's value is only known at run time
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "missing":
            message = "is required"
        elif detail["type"] == "extra_forbidden":
            message = "is not a field of this step type; remove it or check its spelling"
        problems.append(Problem(_loc(prefix, tuple(detail["loc"])), message))
    return problems


_SECTION = re.compile(r"^(steps|edges)\[(\d+)\]")


def _document_order(problem: Problem) -> tuple[int, int]:
    """Top-level fields first, then steps, then edges, each in index order (a stable sort keeps
    the order of checks within one place)."""
    match = _SECTION.match(problem.path)
    if match is None:
        return (0, 0)
    return (1 if match.group(1) == "steps" else 2, int(match.group(2)))


class _Validator:
    def __init__(self, data: dict[str, Any], catalog: Catalog) -> None:
        self.data = data
        self.catalog = catalog
        self.problems: list[Problem] = []
        self.steps: list[tuple[int, Step]] = []
        self.edges: list[tuple[int, Edge]] = []
        self.configs: dict[str, BaseModel | None] = {}

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def run(self) -> tuple[list[Problem], SegmentDefinition | None]:
        self._top_level()
        self._steps()
        self._edges()
        if self.problems and not self.steps:
            self.problems.sort(key=_document_order)
            return self.problems, None
        definition = self._definition()
        if definition is None:
            self.problems.sort(key=_document_order)
            return self.problems, None
        graph = Graph.build(definition)
        self._entrypoint_and_reachability(definition, graph)
        self._parallel_pairs(graph)
        self._self_references(definition)
        self._expressions(definition)
        self.problems.sort(key=_document_order)
        return self.problems, (definition if not self.problems else None)

    def _top_level(self) -> None:
        for key in ("segment_id", "steps", "edges"):
            if key not in self.data:
                self.add(key, "is required")
        shell = {k: v for k, v in self.data.items() if k not in ("steps", "edges")}
        try:
            SegmentDefinition.model_validate(
                {**shell, "segment_id": shell.get("segment_id", "x"), "steps": [], "edges": []}
            )
        except ValidationError as err:
            self.problems.extend(_pydantic_problems("", err))
        schema = self.data.get("input_schema")
        if isinstance(schema, dict):
            references = [] if legacy_rules_active() else local_reference_problems(schema, "input_schema")
            for path, message in references:
                self.add(path, message)
            problem = None if references else checked_problem(schema)
            if problem is not None:
                self.add("input_schema", problem)
        for key in ("steps", "edges"):
            if key in self.data and not isinstance(self.data[key], list):
                self.add(key, "must be a list")

    def _steps(self) -> None:
        raw_steps = self.data.get("steps")
        if not isinstance(raw_steps, list):
            return
        first_index: dict[str, int] = {}
        for index, raw in enumerate(raw_steps):
            prefix = f"steps[{index}]"
            try:
                step = Step.model_validate(raw)
            except ValidationError as err:
                self.problems.extend(_pydantic_problems(prefix, err))
                placeholder = self._placeholder(raw)
                if placeholder is None or placeholder.step_id in first_index:
                    continue
                first_index[placeholder.step_id] = index
                self.steps.append((index, placeholder))
                self.configs[placeholder.step_id] = None
                continue
            if step.step_id in first_index:
                self.add(
                    f"{prefix}.step_id",
                    f"'{step.step_id}' is also the id of steps[{first_index[step.step_id]}]; "
                    "step ids must be unique",
                )
                continue
            first_index[step.step_id] = index
            self.steps.append((index, step))
            step_type = self.catalog.get(step.type)
            if step_type is None:
                self.add(
                    f"{prefix}.type",
                    f"unknown step type '{step.type}'; known types: {_names(self.catalog.type_ids)}",
                )
                self.configs[step.step_id] = None
                continue
            try:
                self.configs[step.step_id] = step_type.config_model.model_validate(step.config)
            except ValidationError as err:
                self.configs[step.step_id] = None
                self.problems.extend(_pydantic_problems(f"{prefix}.config", err, raw=step.config))

    @staticmethod
    def _placeholder(raw: Any) -> Step | None:
        """A step whose fields have problems still takes its place in the graph, so that one bad field
        does not also report every edge to it as pointing nowhere."""
        if isinstance(raw, dict) and isinstance(raw.get("step_id"), str) and raw["step_id"]:
            kind: str = raw["type"] if isinstance(raw.get("type"), str) else "?"
            return Step.model_construct(step_id=raw["step_id"], type=kind, config={}, on_error="fail")
        return None

    def _edges(self) -> None:
        raw_edges = self.data.get("edges")
        if not isinstance(raw_edges, list):
            return
        steps = {s.step_id: s for _, s in self.steps}
        for index, raw in enumerate(raw_edges):
            prefix = f"edges[{index}]"
            try:
                edge = Edge.model_validate(raw)
            except ValidationError as err:
                self.problems.extend(_pydantic_problems(prefix, err))
                continue
            self.edges.append((index, edge))
            self._edge_extras(prefix, edge)
            for end in ("source", "target"):
                name = getattr(edge, end)
                if name not in steps:
                    self.add(f"{prefix}.{end}", f"no step '{name}'; steps: {_names(list(steps))}")
            source = steps.get(edge.source)
            source_type = self.catalog.get(source.type) if source else None
            if source is not None and source_type is not None and not source_type.any_output_port:
                ports = source_type.ports_for(self.configs.get(source.step_id), source.on_error)
                config = self.configs.get(source.step_id)
                ports_known = config is not None or source_type.dynamic_ports is None
                if ports_known and edge.source_port not in ports:
                    hint = "; set on_error to 'route' to use it" if edge.source_port == "error" else ""
                    self.add(
                        f"{prefix}.source_port",
                        f"step '{source.step_id}' ({source.type}) has no port "
                        f"'{edge.source_port}'; ports: {', '.join(ports)}{hint}",
                    )
            target = steps.get(edge.target)
            target_type = self.catalog.get(target.type) if target else None
            if (
                target is not None
                and target_type is not None
                and edge.target_port not in target_type.input_ports
            ):
                self.add(
                    f"{prefix}.target_port",
                    f"step '{target.step_id}' ({target.type}) has no input port "
                    f"'{edge.target_port}'; ports: {', '.join(target_type.input_ports)}",
                )

    def _edge_extras(self, prefix: str, edge: Edge) -> None:
        """An edge key the engine does not know would be silently ignored (an llmteam `condition`
        that never routes), so it is a problem rather than kept."""
        for key in edge.model_extra or {}:
            if key in EDGE_UI_KEYS:
                continue
            if key == "condition":
                fix = "edges carry no condition; route with a condition or switch step's ports"
            elif key in ("from", "to", "from_port", "to_port"):
                fix = "write source, target, source_port, target_port"
            else:
                fix = "put canvas data under `ui`"
            self.add(
                f"{prefix}.{key}",
                f"is not a field of an edge (source, target, source_port, target_port, "
                f"{', '.join(sorted(EDGE_UI_KEYS))}); {fix}",
            )

    def _definition(self) -> SegmentDefinition | None:
        try:
            return SegmentDefinition.model_validate(
                {
                    **{k: v for k, v in self.data.items() if k not in ("steps", "edges")},
                    "segment_id": self.data.get("segment_id") or "?",
                    "steps": [],
                    "edges": [e.model_dump(exclude_unset=True) for _, e in self.edges],
                }
            ).model_copy(update={"steps": [s for _, s in self.steps]})
        except ValidationError:
            return None

    def _index(self, step_id: str) -> int:
        return next(i for i, s in self.steps if s.step_id == step_id)

    def _entrypoint_and_reachability(self, definition: SegmentDefinition, graph: Graph) -> None:
        if not graph.steps:
            self.add("steps", "has no step; a segment needs at least one")
            return
        declared = definition.entrypoint
        if declared is not None and declared not in graph.steps:
            self.add("entrypoint", f"no step '{declared}'; steps: {_names(graph.order)}")
            return
        start = graph.entrypoint(declared)
        if start is None:
            roots = graph.roots()
            if not roots:
                self.add(
                    "entrypoint",
                    "every step has an incoming edge, so the run cannot tell where to start; "
                    "set `entrypoint` to the first step",
                )
            else:
                self.add(
                    "entrypoint",
                    f"several steps have no incoming edge ({_names(roots)}); set `entrypoint` "
                    "to the first step, or connect the others",
                )
            return
        reachable = set(graph.reachable(start))
        for step_id in graph.order:
            if step_id not in reachable:
                self.add(
                    f"steps[{self._index(step_id)}]",
                    f"step '{step_id}' cannot be reached from the entrypoint "
                    f"'{start}'; connect it or remove it",
                )

    def _self_references(self, definition: SegmentDefinition) -> None:
        """A subworkflow that calls the very segment it is in: a cycle known before any run."""
        for index, step in self.steps:
            config = self.configs.get(step.step_id)
            if isinstance(config, SubworkflowConfig) and (
                config.segment_ref.segment_id,
                config.segment_ref.version,
            ) == (definition.segment_id, definition.version):
                self.add(
                    f"steps[{index}].config.segment_ref",
                    f"refers to this segment itself ({config.segment_ref.key}): a reference cycle",
                )

    def _parallel_pairs(self, graph: Graph) -> None:
        if SPLIT_TYPE not in self.catalog:
            return
        for step_id, message in parallel_problems(graph, self.configs):
            self.add(f"steps[{self._index(step_id)}]", message)

    def _expressions(self, definition: SegmentDefinition) -> None:
        known = {s.step_id for _, s in self.steps}
        for index, step in self.steps:
            step_type = self.catalog.get(step.type)
            expression_fields = step_type.expression_fields if step_type else ()
            for key, value in step.config.items():
                path = f"steps[{index}].config.{key}"
                if key in expression_fields and isinstance(value, str):
                    self._check_expression(path, value, known)
                elif key in expression_fields and isinstance(value, list) and step_type is not None:
                    for sub_path, expression in nested_expressions(
                        value, step_type.nested_expression_keys, path
                    ):
                        self._check_expression(sub_path, expression, known)
                else:
                    for sub_path, expression in iter_templates(value, path):
                        self._check_expression(sub_path, expression, known)
        output = definition.output
        if isinstance(output, str) and not is_text_template(output):
            self._check_expression("output", output, known)
        else:
            for sub_path, expression in iter_templates(output, "output"):
                self._check_expression(sub_path, expression, known)

    def _check_expression(self, path: str, expression: str, known: set[str]) -> None:
        if expression == "{%":
            self.add(path, "has a '{%' without its closing '%}'")
            return
        try:
            compiled = compile_expression(expression)
        except ExpressionError as err:
            self.add(path, err.message)
            return
        for name in unknown_root_names(compiled):
            self.add(
                path,
                f"reads '{name}' at its root, which is always undefined; a path starts from "
                f"{', '.join(sorted(ROOT_NAMES))} or a $variable (e.g. input.{name})",
            )
        for name in sorted(step_references(expression) - known):
            self.add(path, f"reads steps.{name}, but there is no step '{name}'")


def _dialect_problem(data: Any) -> Problem | None:
    if detect_dialect(data) == LLMTEAM:
        return Problem(
            "",
            "this is an llmteam export (edges with from/to, steps with ports), not this engine's "
            "format; `segments import FILE` translates it (segments validate, run and start, the "
            "client, the gateway and SegmentWorkflow import it themselves)",
        )
    return None


def nested_expressions(items: list[Any], keys: tuple[str, ...], path: str) -> list[tuple[str, str]]:
    """The `(path, JSONata)` of each `keys` string in a list of objects (a switch's `when`s)."""
    return [
        (f"{path}[{index}].{key}", item[key])
        for index, item in enumerate(items)
        if isinstance(item, dict)
        for key in keys
        if isinstance(item.get(key), str)
    ]


def validate_definition(data: Any, catalog: Catalog) -> list[Problem]:
    """Every problem of a definition (an empty list when it is valid)."""
    if not isinstance(data, dict):
        return [Problem("", "a segment definition is a JSON object")]
    dialect = _dialect_problem(data)
    if dialect is not None:
        return [dialect]
    problems, _ = _Validator(data, catalog).run()
    return problems


def parse_definition(data: Any, catalog: Catalog) -> SegmentDefinition:
    """The definition as a model, or InvalidSegment listing every problem."""
    if not isinstance(data, dict):
        raise InvalidSegment(None, [Problem("", "a segment definition is a JSON object")])
    dialect = _dialect_problem(data)
    if dialect is not None:
        raise InvalidSegment(None, [dialect])
    problems, definition = _Validator(data, catalog).run()
    segment_id = data.get("segment_id") if isinstance(data.get("segment_id"), str) else None
    if problems or definition is None:
        raise InvalidSegment(segment_id, problems)
    return definition
