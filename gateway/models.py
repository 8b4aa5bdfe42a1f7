"""Request and response models: what /openapi.json describes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from client.api import RunSummary
from workflows.contract import AnswerFields

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"


class ProblemModel(BaseModel):
    path: str
    message: str


class ValidationResult(BaseModel):
    valid: bool
    problems: list[ProblemModel]


class InvalidDefinition(BaseModel):
    detail: str
    problems: list[ProblemModel]


class ErrorResponse(BaseModel):
    detail: Any


class SegmentRef(BaseModel):
    segment_id: str = Field(pattern=_ID_PATTERN)
    version: str = Field(pattern=_ID_PATTERN)


class StartRunRequest(BaseModel):
    """Either `segment` (a definition) or `segment_ref` (a stored one), and the run's input."""

    segment: dict[str, Any] | None = None
    segment_ref: SegmentRef | None = None
    input: Any = Field(default_factory=dict)
    options: dict[str, int] | None = Field(
        None,
        description="Long-run bounds, at least 20: continue_as_new_after_steps, _after_events",
    )

    @model_validator(mode="after")
    def _one_source(self) -> StartRunRequest:
        if (self.segment is None) == (self.segment_ref is None):
            raise ValueError("give exactly one of 'segment' and 'segment_ref'")
        return self


class StartRunResponse(BaseModel):
    run_id: str
    created: bool = Field(description="false when an Idempotency-Key named a run already started")
    segment_id: str
    web_ui: str


class RunList(BaseModel):
    runs: list[RunSummary]


class RunStatus(BaseModel):
    """The run's `status` query, plus Temporal's own view of the execution."""

    model_config = ConfigDict(extra="allow")
    run_id: str
    temporal_status: str
    phase: str | None = None
    segment_id: str | None = None
    steps_done: list[dict[str, Any]] = Field(default_factory=list)
    steps_running: list[dict[str, Any]] = Field(default_factory=list)
    steps_pending: list[str] = Field(default_factory=list)
    open_tasks: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None


class RunResult(BaseModel):
    run_id: str
    phase: str
    result: Any = None
    error: str | None = None


class ActionAccepted(BaseModel):
    run_id: str
    action: Literal["cancel", "pause", "resume"]


class TaskList(BaseModel):
    run_id: str
    open_tasks: list[dict[str, Any]]
    closed_tasks: list[dict[str, Any]]


class TaskAnswerBody(AnswerFields):
    """The `respond` update's payload (`workflows.contract.TaskAnswer`), less `task_id`: it is in
    the path. Checked as the run checks it, in lax mode (JSON bodies).

    `responder` is who the token names for a user's token (leave it out, or give that same
    name); a service's token names the user it answers for (`gateway.identity`)."""

    model_config = ConfigDict(strict=False, frozen=True, extra="ignore")

    responder: str | None = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]

    @field_validator("responder")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:  # type: ignore[override]
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value


class TaskAnswered(BaseModel):
    run_id: str
    task_id: str
    answer: dict[str, Any]
