"""How a step's failure travels through the interpreter and out of the run."""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, FailureError

STEP_FAILED = "StepFailed"
INVALID_SEGMENT = "InvalidSegment"
INVALID_INPUT = "InvalidInput"


class ContinueAsNewNeeded(Exception):
    """Raised by the interpreter at a quiet step boundary when the run should continue as new."""

    def __init__(self, next_step: str, arrival: Any = None) -> None:
        super().__init__(next_step)
        self.next_step = next_step
        self.arrival = arrival
        """How the path reached `next_step` (an interpreter `Arrival`): the next run's `prev`."""


class StepFailure(Exception):
    """A step failed after its retries; `on_error` decides whether the run fails or routes."""

    def __init__(
        self,
        step_id: str,
        step_type: str,
        message: str,
        error_type: str | None = None,
        task_path: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.step_id = step_id
        self.step_type = step_type
        self.message = message
        self.error_type = error_type
        self.task_path = task_path
        self.details = details or {}
        """What the failing activity said besides its message (an HTTP error's `status` and `body`)."""

    def as_output(self) -> dict[str, Any]:
        """What goes out on the `error` port, for later steps to read."""
        return {
            "error": {
                **self.details,
                "message": self.message,
                "type": self.error_type,
                "step_id": self.step_id,
            }
        }

    def to_application_error(self) -> ApplicationError:
        where = f"{self.task_path}{self.step_id}"
        return ApplicationError(
            f"step '{where}' ({self.step_type}) failed: {self.message}",
            {
                "step_id": self.step_id,
                "task_path": self.task_path,
                "step_type": self.step_type,
                "error_type": self.error_type,
            },
            type=STEP_FAILED,
            non_retryable=True,
        )


def error_details(err: BaseException) -> dict[str, Any]:
    """The first details object of the innermost application error (e.g. `{status, body}`)."""
    cause: BaseException | None = err
    found: dict[str, Any] = {}
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict):
            found = cause.details[0]
        cause = cause.cause if isinstance(cause, FailureError) else None
    return found


def describe_activity_error(err: ActivityError | ChildWorkflowError) -> tuple[str, str | None]:
    """The innermost message and type of a failed activity or child, for the step's error."""
    cause: BaseException | None = err.cause
    message, error_type = str(err), None
    while cause is not None:
        if isinstance(cause, ApplicationError):
            message, error_type = cause.message, cause.type
        elif not isinstance(cause, ActivityError | ChildWorkflowError):
            message = str(cause) or type(cause).__name__
            error_type = error_type or type(cause).__name__
        cause = cause.cause if isinstance(cause, FailureError) else None
    return message, error_type
