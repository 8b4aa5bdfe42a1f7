"""The built-in step types that the engine runs, and the default catalog made of them."""

from __future__ import annotations

from pydantic import BaseModel

from segments.catalog import Catalog, StepType
from segments.step_configs.core import ConditionConfig, TransformConfig
from segments.step_configs.http_action import HttpActionConfig
from segments.step_configs.human_task import HumanTaskConfig, task_ports
from segments.step_configs.llm_agent import LlmAgentConfig
from segments.step_configs.parallel import ParallelJoinConfig, ParallelSplitConfig
from segments.step_configs.subworkflow import SubworkflowConfig
from segments.step_configs.switch import SwitchConfig

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

PARALLEL_SPLIT = StepType(
    type_id="parallel_split",
    display_name="Parallel split",
    category="flow",
    icon="split",
    color="#0ea5e9",
    description="Run branches at the same time, each as a child workflow: one per outgoing edge, "
    "or one per item of a list (map).",
    config_model=ParallelSplitConfig,
    runs_as="child_workflows",
    any_output_port=True,
    expression_fields=("items",),
)

PARALLEL_JOIN = StepType(
    type_id="parallel_join",
    display_name="Parallel join",
    category="flow",
    icon="merge",
    color="#0ea5e9",
    description="Where the branches of a parallel split meet; its output is each branch's result.",
    config_model=ParallelJoinConfig,
    runs_as="workflow",
)

HUMAN_TASK = StepType(
    type_id="human_task",
    display_name="Human task",
    category="human",
    icon="user-check",
    color="#10b981",
    description="Wait for a person to approve, choose, fill in or review, with a durable timeout, "
    "escalation and notifications; answered through the run's `respond` update or signal.",
    config_model=HumanTaskConfig,
    runs_as="human",
    output_ports=("approved", "rejected", "out", "timeout"),
    dynamic_ports=task_ports,
    has_error_port=True,
)

HTTP_ACTION = StepType(
    type_id="http_action",
    display_name="HTTP request",
    category="integration",
    icon="globe",
    color="#0ea5e9",
    description="Call an HTTP API; secrets for auth are resolved on the worker, never in the run's history.",
    config_model=HttpActionConfig,
    runs_as="activity",
    activity_name="http_action",
    output_ports=("out", "error"),
    has_error_port=True,
)

LLM_AGENT = StepType(
    type_id="llm_agent",
    display_name="LLM agent",
    category="ai",
    icon="sparkles",
    color="#a855f7",
    description="Ask a language model (OpenAI, Anthropic, or a provider the worker registers); "
    "with response_schema, get validated JSON.",
    config_model=LlmAgentConfig,
    runs_as="activity",
    activity_name="llm_agent",
    output_ports=("out", "error"),
    has_error_port=True,
)


def _switch_ports(config: BaseModel) -> tuple[str, ...]:
    assert isinstance(config, SwitchConfig)
    return config.ports()


SWITCH = StepType(
    type_id="switch",
    display_name="Switch",
    category="flow",
    icon="signpost",
    color="#f59e0b",
    description="Route the run through one of several ports: the first case whose `equals` matches "
    "the value, or whose `when` is true; `default` otherwise.",
    config_model=SwitchConfig,
    runs_as="workflow",
    output_ports=("default",),
    expression_fields=("value", "cases"),
    nested_expression_keys=("when",),
    dynamic_ports=_switch_ports,
)

SUBWORKFLOW = StepType(
    type_id="subworkflow",
    display_name="Subworkflow",
    category="flow",
    icon="workflow",
    color="#0ea5e9",
    description="Run a stored segment (segment_ref) as a child run with the same tenant; its human "
    "tasks are answered through this run. Output: the child run's result.",
    config_model=SubworkflowConfig,
    runs_as="child_workflows",
    output_ports=("out", "error"),
    has_error_port=True,
)

BUILTIN_TYPES: tuple[StepType, ...] = (
    TRANSFORM,
    CONDITION,
    HTTP_ACTION,
    LLM_AGENT,
    PARALLEL_SPLIT,
    PARALLEL_JOIN,
    HUMAN_TASK,
    SWITCH,
    SUBWORKFLOW,
)


def default_catalog() -> Catalog:
    """A fresh catalog with every built-in type that runs."""
    return Catalog(BUILTIN_TYPES)
