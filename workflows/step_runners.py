"""How each kind of step runs inside the workflow: in the workflow itself, or as an activity."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

from activities.contracts import ERROR_EXPRESSION
from segments.catalog import StepType
from segments.durations import parse_duration
from segments.expressions import ExpressionError
from segments.models import RetrySpec, Step
from workflows.errors import StepFailure, describe_activity_error, error_details
from workflows.human_tasks import run_human_task
from workflows.interpreter import Interpreter, StepOutcome, StepRunner
from workflows.parallel import run_parallel_split
from workflows.run_details import step_summary
from workflows.subworkflow import run_subworkflow
from workflows.switch import run_switch

DEFAULT_ACTIVITY_TIMEOUT = timedelta(minutes=5)
DEFAULT_LOCAL_ACTIVITY_TIMEOUT = timedelta(seconds=30)
HEARTBEAT_TIMEOUT = timedelta(seconds=20)
"""Step activities heartbeat every second (activities.heartbeat): a worker that died mid-step is
noticed after this long, and the step retried elsewhere, instead of at the step's timeout."""
DEFAULT_RETRY = RetrySpec()


def activity_summary(step: Step, config: dict[str, Any]) -> str:
    """What the Web UI shows for the step's activity; a call through a connection names it (audit)."""
    connection = config.get("connection") if step.type == "http_action" else None
    why = step.name or step.type
    return step_summary(
        step.step_id, f"{why} · connection {connection}" if isinstance(connection, str) else why
    )


def retry_policy(step: Step) -> RetryPolicy:
    """The step's `retry`, or the bounded default: 3 attempts, 1 s doubling to 1 min at most."""
    spec = step.retry or DEFAULT_RETRY
    return RetryPolicy(
        maximum_attempts=spec.max_attempts,
        initial_interval=parse_duration(spec.initial_interval),
        backoff_coefficient=spec.backoff,
        maximum_interval=parse_duration(spec.max_interval),
    )


async def run_condition(
    interp: Interpreter, step: Step, step_type: StepType, config: dict[str, Any], visit: int
) -> StepOutcome:
    try:
        value = interp.evaluate(config["expression"], step.step_id)
    except ExpressionError as err:
        raise StepFailure(
            step.step_id, step.type, f"expression: {err.message}", ERROR_EXPRESSION, interp.scope.path
        ) from None
    if value is None:
        value = False
    if not isinstance(value, bool):
        raise StepFailure(
            step.step_id,
            step.type,
            f"expression must give true or false, but gave {type(value).__name__} {value!r}",
            ERROR_EXPRESSION,
            interp.scope.path,
        )
    return StepOutcome(value, "true" if value else "false")


def _activity_input(
    interp: Interpreter, step: Step, step_type: StepType, config: dict[str, Any], visit: int
) -> dict[str, Any]:
    """A `StepActivityInput`, as the plain JSON object the activity decodes into one.

    Sent as a dict because the payload converter turns a dataclass into JSON with
    `dataclasses.asdict`, which deep-copies the whole expression context (`input` and every step
    output) on every step, through the sandbox's proxies: the largest single cost of a step in the
    workflow (bench/README.md). A dict of plain values goes straight to the JSON encoder."""
    evaluates = bool(step_type.expression_fields)
    return {
        "step_id": step.step_id,
        "step_type": step.type,
        "config": config,
        "run": interp.run_view,
        "visit": visit,
        "task_path": interp.scope.path,
        "context": interp.document(step.step_id) if evaluates else None,
        "clock_ms": int(workflow.now().timestamp() * 1000),
        "random_seed": workflow.random().randint(0, 2**31 - 1) if evaluates else 0,
        "env": interp.env if evaluates else {},
    }


def _reraise_cancellation(err: ActivityError) -> None:
    """An activity cancelled because its workflow was (a run, or a branch the join no longer needs)
    is a cancellation, not a step failure: it must not be routed nor fail the run."""
    if is_cancelled_exception(err):
        raise asyncio.CancelledError(str(err)) from err


async def run_activity(
    interp: Interpreter, step: Step, step_type: StepType, config: dict[str, Any], visit: int
) -> StepOutcome:
    return await _run_as_activity(interp, step, step_type, config, visit, local=False)


async def run_local_activity(
    interp: Interpreter, step: Step, step_type: StepType, config: dict[str, Any], visit: int
) -> StepOutcome:
    """Pure steps (transform) run as local activities: no task-queue round trip, one marker event."""
    return await _run_as_activity(interp, step, step_type, config, visit, local=True)


async def _run_as_activity(
    interp: Interpreter, step: Step, step_type: StepType, config: dict[str, Any], visit: int, *, local: bool
) -> StepOutcome:
    assert step_type.activity_name is not None
    step_input = _activity_input(interp, step, step_type, config, visit)
    default_timeout = DEFAULT_LOCAL_ACTIVITY_TIMEOUT if local else DEFAULT_ACTIVITY_TIMEOUT
    timeout = parse_duration(step.timeout) if step.timeout else default_timeout
    activity_id = f"{interp.scope.path}{step.step_id}#{visit}"
    try:
        if local:
            output = await workflow.execute_local_activity(
                step_type.activity_name,
                step_input,
                start_to_close_timeout=timeout,
                retry_policy=retry_policy(step),
                activity_id=activity_id,
                summary=activity_summary(step, config),
            )
        else:
            output = await workflow.execute_activity(
                step_type.activity_name,
                step_input,
                start_to_close_timeout=timeout,
                retry_policy=retry_policy(step),
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                activity_id=activity_id,
                summary=activity_summary(step, config),
            )
    except ActivityError as err:
        _reraise_cancellation(err)
        message, error_type = describe_activity_error(err)
        raise StepFailure(
            step.step_id, step.type, message, error_type, interp.scope.path, error_details(err)
        ) from None
    except ApplicationError as err:  # a local activity's failure arrives unwrapped
        raise StepFailure(
            step.step_id, step.type, err.message, err.type, interp.scope.path, error_details(err)
        ) from None
    return StepOutcome(output, "out")


def default_runners() -> dict[str, StepRunner]:
    """Runners by step type id, or by `runs_as` for every activity-backed type."""
    return {
        "condition": run_condition,
        "activity": run_activity,
        "local_activity": run_local_activity,
        "human_task": run_human_task,
        "parallel_split": run_parallel_split,
        "switch": run_switch,
        "subworkflow": run_subworkflow,
    }
