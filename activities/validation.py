"""Checks shared by step activities: the rendered config against its model, values against JSON Schemas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG, ERROR_SCHEMA, StepActivityInput
from activities.http_errors import redact
from segments.schemas import SchemaCheckError, schema_mismatches, schema_problem

ModelT = TypeVar("ModelT", bound=BaseModel)
MAX_REPORTED_ERRORS = 3


def parse_config(model: type[ModelT], input: StepActivityInput) -> ModelT:
    """The step's rendered config as `model`, or a non-retryable error naming each bad field."""
    try:
        return model.model_validate(input.config)
    except ValidationError as exc:
        problems = "; ".join(
            f"config.{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise ApplicationError(
            f"step '{input.step_id}' ({input.step_type}): invalid config: {problems}",
            type=ERROR_CONFIG,
            non_retryable=True,
        ) from None


def check_schema(schema: dict[str, Any], *, step_id: str, field: str) -> None:
    """A non-retryable error when `schema` is not a valid, self-contained JSON Schema."""
    problem = schema_problem(schema)
    if problem is not None:
        raise ApplicationError(
            f"step '{step_id}': config.{field} {problem}", type=ERROR_CONFIG, non_retryable=True
        )


def schema_problems(instance: Any, schema: dict[str, Any], *, step_id: str, field: str) -> list[str]:
    """Where `instance` does not match `schema` (empty when it matches); never quotes either."""
    try:
        return schema_mismatches(instance, schema, limit=MAX_REPORTED_ERRORS)
    except SchemaCheckError as err:
        raise ApplicationError(
            f"step '{step_id}': config.{field}: {err}", type=ERROR_CONFIG, non_retryable=True
        ) from None


def require_match(
    instance: Any,
    schema: dict[str, Any],
    *,
    step_id: str,
    field: str,
    what: str,
    retryable: bool = False,
    secrets: Iterable[str] = (),
) -> None:
    """Raise ERROR_SCHEMA when `instance` (`what`: "the response body"...) does not match `config.<field>`."""
    check_schema(schema, step_id=step_id, field=field)
    problems = schema_problems(instance, schema, step_id=step_id, field=field)
    if problems:
        secrets = list(secrets)
        raise ApplicationError(
            f"step '{step_id}': {what} does not match config.{field}: "
            + redact("; ".join(problems), secrets),
            {"problems": [redact(p, secrets) for p in problems]},
            type=ERROR_SCHEMA,
            non_retryable=not retryable,
        )
