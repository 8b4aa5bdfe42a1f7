"""The built-in step types that the engine runs, and the default catalog made of them."""

from __future__ import annotations

from segments.catalog import Catalog, StepType
from segments.step_configs.core import ConditionConfig, TransformConfig

TRANSFORM = StepType(
    type_id="transform",
    display_name="Transform",
    category="data",
    icon="braces",
    color="#6366f1",
    description="Compute a JSON value from the run's data with a JSONata expression.",
    config_model=TransformConfig,
    runs_as="local_activity",
    activity_name="transform",
    expression_fields=("expression",),
    has_error_port=True,
)

CONDITION = StepType(
    type_id="condition",
    display_name="Condition",
    category="flow",
    icon="git-branch",
    color="#f59e0b",
    description="Route the run through `true` or `false` by a JSONata expression.",
    config_model=ConditionConfig,
    runs_as="workflow",
    output_ports=("true", "false"),
    expression_fields=("expression",),
)

BUILTIN_TYPES: tuple[StepType, ...] = (TRANSFORM, CONDITION)


def default_catalog() -> Catalog:
    """A fresh catalog with every built-in type that runs."""
    return Catalog(BUILTIN_TYPES)
