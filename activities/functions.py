"""Python functions as step types: a worker registers a callable, it runs as an activity.

    def register(registry):
        registry.add_function_step("score_lead", score_lead, ScoreConfig,
                                   display_name="Score lead", category="sales")

The function receives its config (a validated instance of the config model, templates already
rendered) and the run's context, and returns a JSON value: the step's output. It may be sync
(run in the worker's thread pool) or async.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG, StepActivityInput
from segments.catalog import Catalog, StepType
from segments.plugins import import_plugin, plugin_modules

StepFunction = Callable[[Any, StepActivityInput], Any] | Callable[[Any, StepActivityInput], Awaitable[Any]]


def _as_activity(type_id: str, fn: StepFunction, config_model: type[BaseModel]) -> Callable[..., Any]:
    async def run(step: StepActivityInput) -> Any:
        try:
            config = config_model.model_validate(step.config)
        except ValidationError as err:
            raise ApplicationError(
                f"step '{step.step_id}': config: {err}", type=ERROR_CONFIG, non_retryable=True
            ) from None
        if inspect.iscoroutinefunction(fn):
            return await fn(config, step)
        # a sync function runs in a thread, so it neither blocks the worker nor its heartbeats
        return await asyncio.to_thread(fn, config, step)

    run.__name__ = f"function_step_{type_id}"
    return activity.defn(name=type_id)(run)


@dataclass
class StepRegistry:
    """What plugins register into: catalog entries, and (on a worker) the activities behind them."""

    catalog: Catalog
    activities: list[Callable[..., Any]] = field(default_factory=list)

    def add_function_step(
        self,
        type_id: str,
        fn: StepFunction,
        config_model: type[BaseModel],
        *,
        display_name: str | None = None,
        category: str = "custom",
        icon: str = "function",
        color: str = "#64748b",
        description: str = "",
    ) -> StepType:
        step_type = StepType(
            type_id=type_id,
            display_name=display_name or type_id.replace("_", " ").capitalize(),
            category=category,
            icon=icon,
            color=color,
            description=description or (inspect.getdoc(fn) or "").split("\n")[0],
            config_model=config_model,
            runs_as="activity",
            activity_name=type_id,
            has_error_port=True,
        )
        self.catalog.register(step_type)
        self.activities.append(_as_activity(type_id, fn, config_model))
        return step_type


def load_plugins(registry: StepRegistry, modules: list[str] | None = None) -> None:
    """Let each plugin module (from `SEGMENTS_PLUGINS` unless given) register its step types."""
    for name in modules if modules is not None else plugin_modules():
        import_plugin(name).register(registry)  # type: ignore[attr-defined]
