"""The step catalog: what each step type is, how it is configured and which ports it has.

Canvas editors draw their palette and config forms from `Catalog.export_for_ui()`. A type is
listed here only once the engine runs it. Workers may register more types (Python functions
run as activities); they appear exactly like the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

RunsAs = Literal["activity", "local_activity", "workflow", "child_workflows", "human"]


@dataclass(frozen=True)
class StepType:
    type_id: str
    display_name: str
    category: str
    icon: str
    color: str
    description: str
    config_model: type[BaseModel]
    runs_as: RunsAs
    output_ports: tuple[str, ...] = ("out",)
    input_ports: tuple[str, ...] = ("in",)
    expression_fields: tuple[str, ...] = ()
    """Config keys holding JSONata (evaluated by the step), not `{% %}` templates."""
    nested_expression_keys: tuple[str, ...] = ()
    """Keys of the objects in a list-valued expression field that hold JSONata (a switch case's
    `when`); their other values are plain JSON, neither evaluated nor rendered."""
    activity_name: str | None = None
    """For `activity`/`local_activity` types: the Temporal activity type to call."""
    dynamic_ports: Callable[[BaseModel], tuple[str, ...]] | None = field(default=None, compare=False)
    """When the ports depend on the config (a choice's options): config -> ports."""
    any_output_port: bool = False
    """True where any port name is allowed (a parallel_split's branches)."""
    has_error_port: bool = False
    """True where the type can fail at run time and so offers `on_error: route`."""

    def ports_for(self, config: BaseModel | None, on_error: str = "fail") -> tuple[str, ...]:
        ports = (
            self.dynamic_ports(config) if (self.dynamic_ports and config is not None) else self.output_ports
        )
        if on_error == "route" and "error" not in ports:
            ports = (*ports, "error")
        elif on_error != "route" and "error" in ports:
            # the port exists for the canvas, but carries errors only when the step routes them
            ports = tuple(p for p in ports if p != "error")
        return ports

    def export(self) -> dict[str, Any]:
        return {
            "type_id": self.type_id,
            "display_name": self.display_name,
            "category": self.category,
            "icon": self.icon,
            "color": self.color,
            "description": self.description,
            "runs_as": self.runs_as,
            "config_schema": self.config_model.model_json_schema(),
            "input_ports": list(self.input_ports),
            "output_ports": list(self.output_ports),
            "dynamic_output_ports": self.dynamic_ports is not None or self.any_output_port,
            "error_port": self.has_error_port,
        }


class Catalog:
    """A registry of step types by `type_id`."""

    def __init__(self, types: Iterable[StepType] = ()) -> None:
        self._types: dict[str, StepType] = {}
        self.connections: list[str] = []
        """Names of the worker's connections (`http_action` `connection`); never their contents."""
        self.model_refs: list[str] = []
        """Names of the worker's model refs (`llm_agent` `llm_ref`)."""
        for step_type in types:
            self.register(step_type)

    def set_endpoint_names(self, connections: Iterable[str], model_refs: Iterable[str]) -> None:
        """The names a canvas form may offer for `connection` and `llm_ref`."""
        self.connections = sorted(connections)
        self.model_refs = sorted(model_refs)

    def register(self, step_type: StepType, *, replace: bool = False) -> None:
        if step_type.type_id in self._types and not replace:
            raise ValueError(f"step type '{step_type.type_id}' is already registered")
        self._types[step_type.type_id] = step_type

    def get(self, type_id: str) -> StepType | None:
        return self._types.get(type_id)

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._types

    @property
    def type_ids(self) -> list[str]:
        return sorted(self._types)

    def copy(self) -> Catalog:
        copied = Catalog(self._types.values())
        copied.set_endpoint_names(self.connections, self.model_refs)
        return copied

    def export_for_ui(self) -> dict[str, Any]:
        return {
            "version": 1,
            "step_types": [self._types[t].export() for t in self.type_ids],
            "connections": list(self.connections),
            "model_refs": list(self.model_refs),
        }
