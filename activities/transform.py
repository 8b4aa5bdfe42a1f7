"""The pure activities: `transform` (a JSONata expression) and `capture_env` (the run's `$env`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import CAPTURE_ENV_ACTIVITY, ERROR_EXPRESSION, TRANSFORM_ACTIVITY, StepActivityInput
from activities.expression_pool import evaluate_isolated
from segments.expressions import ExpressionError

ENV_PREFIX = "SEGMENTS_ENV_"


@activity.defn(name=TRANSFORM_ACTIVITY)
async def transform(step: StepActivityInput) -> object:
    """Evaluate the step's expression against the run's data, with the workflow's clock.

    In a child process (`activities.expression_pool`): the worker's loop keeps polling,
    heartbeating and running other activities whatever the expression does."""
    try:
        return await evaluate_isolated(
            step.config["expression"], step.context or {}, step.clock_ms, step.random_seed, step.env
        )
    except ExpressionError as err:
        raise ApplicationError(
            f"expression: {err.message}",
            {"expression": err.expression},
            type=ERROR_EXPRESSION,
            non_retryable=True,
        ) from None


class EnvCapture:
    """Reads the `SEGMENTS_ENV_*` variables the worker allows expressions to see as `$env`."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ if environ is not None else os.environ

    @activity.defn(name=CAPTURE_ENV_ACTIVITY)
    async def capture_env(self) -> dict[str, str]:
        return {k.removeprefix(ENV_PREFIX): v for k, v in self._environ.items() if k.startswith(ENV_PREFIX)}
