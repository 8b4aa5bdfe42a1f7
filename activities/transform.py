"""The pure activities: `transform` (a JSONata expression) and `capture_env` (the run's `$env`)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Mapping

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import CAPTURE_ENV_ACTIVITY, ERROR_EXPRESSION, TRANSFORM_ACTIVITY, StepActivityInput
from activities.expression_pool import evaluate_isolated
from segments.expressions import DEFAULT_LIMITS, EvalClock, ExpressionError, ExpressionLimit, evaluate

ENV_PREFIX = "SEGMENTS_ENV_"
IN_THREAD_LIMITS = dataclasses.replace(DEFAULT_LIMITS, max_cost=10_000)
"""The first attempt, in a thread of the worker: small, so little garbage is made in the worker's
own process; anything larger runs in the child process."""


@activity.defn(name=TRANSFORM_ACTIVITY)
async def transform(step: StepActivityInput) -> object:
    """Evaluate the step's expression against the run's data, with the workflow's clock.

    Never on the event loop: first in a thread with the workflow's budget (most expressions end
    there in milliseconds); one that needs more runs again in a child process
    (`activities.expression_pool`) with `ACTIVITY_LIMITS`, where neither its work nor the garbage
    collector it triggers can hold the worker's loop."""
    expression, context = step.config["expression"], step.context or {}
    clock = EvalClock.fixed(step.clock_ms, step.random_seed)
    try:
        try:
            return await asyncio.to_thread(evaluate, expression, context, clock, step.env, IN_THREAD_LIMITS)
        except ExpressionLimit as limit:
            if limit.kind != "cost":
                raise
        return await evaluate_isolated(expression, context, step.clock_ms, step.random_seed, step.env)
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
