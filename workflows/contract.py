"""The run's Temporal interface, typed once: names, payloads, views and refusals.

Workflows, the client, the CLI, the gateway and the tests all use these names and types, so a
payload's shape is written down in one place. The JSON on the wire is what the public contract
describes (`README.md`, "The Temporal interface"); nothing here changes it:

- workflow `SegmentWorkflow`, input `RunRequest` (`{"segment", "input", "tenant_id"}`);
- query `status` -> `RunStatus`, listing `OpenTaskView`s and `ClosedTaskView`s;
- signal and update `respond` with a `TaskAnswer`; signals `pause` and `resume`;
- between the runs of one segment: the signal `TASK_EVENT_SIGNAL` from a branch to its root.

Every payload that arrives is untrusted: handlers take `Any` and parse it here, so a malformed
one is refused with a reason instead of failing the workflow task. A refused answer carries its
kind in `ApplicationError.type` (`TaskNotOpen`, `TaskClosed`, `NotAllowed`, `AnswerInvalid`), so
callers map it to a status code without a second query or matching the message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from temporalio.exceptions import ApplicationError

# --- names ---------------------------------------------------------------------------------

SEGMENT_WORKFLOW = "SegmentWorkflow"
BRANCH_WORKFLOW = "SegmentBranchWorkflow"
STATUS_QUERY = "status"
RESPOND = "respond"
"""Both a signal (fire and forget) and an update (checked by its validator first)."""
PAUSE_SIGNAL = "pause"
RESUME_SIGNAL = "resume"
TASK_EVENT_SIGNAL = "segments_task_event"
"""From a branch child to its root workflow: a task opened, changed, closed, or refused an answer."""

Phase = Literal["running", "waiting_human", "paused", "completed", "failed", "cancelled"]
PHASES: tuple[Phase, ...] = ("running", "waiting_human", "paused", "completed", "failed", "cancelled")

# --- refusals ------------------------------------------------------------------------------

TASK_NOT_OPEN = "TaskNotOpen"
"""No open task of that id: unknown, or not open yet (a later visit, a branch not started)."""
TASK_CLOSED = "TaskClosed"
"""The task was answered, timed out or cancelled; the error's details hold its `ClosedTaskView`."""
NOT_ALLOWED = "NotAllowed"
"""The responder is not the task's assignee nor in its group."""
ANSWER_INVALID = "AnswerInvalid"
"""The answer is malformed or does not fit the task (decision, option, data)."""
REFUSAL_TYPES = (TASK_NOT_OPEN, TASK_CLOSED, NOT_ALLOWED, ANSWER_INVALID)
CONFLICT_REFUSALS = frozenset({TASK_NOT_OPEN, TASK_CLOSED})
"""Refusals about the task's state (HTTP 409); the others are about the answer (HTTP 422)."""


@dataclass(frozen=True)
class Refusal:
    """Why an answer is not taken."""

    type: str
    reason: str
    closed: ClosedTaskView | None = None


def refusal_error(refusal: Refusal) -> ApplicationError:
    """The error a refused update fails with; a closed task's listing rides in its details."""
    details = [refusal.closed] if refusal.closed is not None else []
    return ApplicationError(refusal.reason, *details, type=refusal.type, non_retryable=True)


# --- bounds --------------------------------------------------------------------------------

MAX_ANSWER_BYTES = 32_768
"""An answer's size as JSON: its `data` is checked against a JSON Schema inside a workflow task."""
MAX_ARRAY_ITEMS = 256
"""Per array in `data`: `uniqueItems` compares items pairwise."""
MAX_DEPTH = 32
MAX_REASON_CHARS = 500


def json_size(value: Any) -> int:
    """The value's size as compact JSON; a value that is not JSON counts as too large."""
    try:
        return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=None))
    except (TypeError, ValueError, RecursionError):
        return MAX_ANSWER_BYTES * 1024


def _shape_problem(value: Any, depth: int = 0) -> str | None:
    if depth > MAX_DEPTH:
        return f"nests deeper than {MAX_DEPTH} levels"
    if isinstance(value, list):
        if len(value) > MAX_ARRAY_ITEMS:
            return f"has an array of {len(value)} items (at most {MAX_ARRAY_ITEMS})"
        items: Any = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return None
    for item in items:
        problem = _shape_problem(item, depth + 1)
        if problem:
            return problem
    return None


# --- the answer ----------------------------------------------------------------------------


class AnswerFields(BaseModel):
    """What a person says when answering a task; the gateway's request body is exactly this."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    decision: Literal["approve", "reject"] | None = None
    option: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] | None = None
    comment: str | None = Field(default=None, max_length=10_000)
    responder: str = Field(min_length=1, max_length=200)

    @field_validator("responder")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("data")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            problem = _shape_problem(value)
            if problem:
                raise ValueError(problem)
        return value


class TaskAnswer(AnswerFields):
    """The `respond` signal's and update's payload: which task, and the answer."""

    task_id: str = Field(min_length=1, max_length=500)

    def to_payload(self) -> dict[str, Any]:
        """The payload as sent on the wire (absent fields left out, as clients always have)."""
        return self.model_dump(include=set(TaskAnswer.model_fields), exclude_none=True)

    def accepted(self, responded_at: str) -> AcceptedAnswer:
        return AcceptedAnswer(**self.model_dump(), responded_at=responded_at)


class AcceptedAnswer(TaskAnswer):
    """An answer a task took: the update's result, the task's `answer`, the step's output."""

    responded_at: str

    def record(self) -> dict[str, Any]:
        """As the task keeps it (and history carries it): every answer field, without `task_id`."""
        return self.model_dump(exclude={"task_id"})

    def result(self) -> dict[str, Any]:
        """The update's result: `task_id` first, then the record."""
        return {"task_id": self.task_id, **self.record()}

    @classmethod
    def from_record(cls, task_id: str, record: dict[str, Any]) -> AcceptedAnswer:
        return cls.model_validate({**record, "task_id": task_id}, strict=False)


ANSWER_FIELDS: tuple[str, ...] = (*AnswerFields.model_fields, "responded_at")


def parse_answer(payload: Any) -> TaskAnswer | Refusal:
    """The payload as a `TaskAnswer`, or why it is refused (its task not consulted yet)."""
    if not isinstance(payload, dict):
        return Refusal(
            ANSWER_INVALID,
            "a response is a JSON object: {task_id, responder, decision | option | data, comment}",
        )
    task_id = payload.get("task_id")
    where = f"task '{task_id}': " if isinstance(task_id, str) and 0 < len(task_id) <= 500 else ""
    if json_size(payload) > MAX_ANSWER_BYTES:
        return Refusal(ANSWER_INVALID, f"{where}the response is larger than {MAX_ANSWER_BYTES} bytes as JSON")
    try:
        return TaskAnswer.model_validate(payload)
    except ValidationError as err:
        return Refusal(ANSWER_INVALID, where + _describe(err, payload))


def _describe(err: ValidationError, payload: dict[str, Any]) -> str:
    first = err.errors(include_url=False, include_input=False)[0]
    name = str(first["loc"][0]) if first["loc"] else "response"
    if name == "task_id":
        return "'task_id' is required: a string as `status` lists it"
    if name == "responder" and first["type"] in ("missing", "string_too_short", "value_error", "string_type"):
        return "'responder' is required: the user name of who answers"
    if name == "decision":
        return f"'decision' must be 'approve', 'reject' or absent, not {_short(payload.get('decision'))}"
    if name == "data" and first["type"] in ("dict_type", "model_type"):
        return "'data' must be a JSON object"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"'{name}': {message}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def bounded_reason(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 3] + "..."


# --- the status query ----------------------------------------------------------------------


class ChoiceOptionView(TypedDict):
    id: str
    label: str


class OpenTaskView(TypedDict):
    """An open task as `status` lists it."""

    task_id: str
    step_id: str
    kind: str
    title: str
    description: str
    assignee: str | None
    assignee_group: list[str] | None
    priority: str
    deadline: str | None
    options: list[ChoiceOptionView]
    input_schema: dict[str, Any] | None
    level: int
    opened_at: str


class ClosedTaskView(TypedDict):
    """A closed task as `status` lists it; the answer's keys only when it was answered."""

    task_id: str
    step_id: str
    status: str
    closed_at: str | None
    decision: NotRequired[str | None]
    option: NotRequired[str | None]
    responder: NotRequired[str | None]


class RefusedSignal(TypedDict):
    task_id: str | None
    responder: str | None
    reason: str
    at: str


class StepRecordView(TypedDict, total=False):
    step_id: str
    task_path: str
    visit: int
    step_type: str
    status: str
    started_at: str
    ended_at: str | None
    error: str | None


class BoardView(TypedDict):
    """The human-task part of `status` (a branch's tasks too, listed by the root)."""

    open_tasks: list[OpenTaskView]
    closed_tasks: list[ClosedTaskView]
    pending_responses: list[dict[str, Any]]
    """Answers sent by signal for tasks not open yet: `TaskAnswer` payloads with `received_at`."""
    refused_signals: list[RefusedSignal]


class RunStatus(TypedDict):
    """The `status` query's answer (of the root workflow)."""

    run_id: str
    """The run's id: its workflow id, the same across continue-as-new."""
    segment_id: str | None
    tenant_id: str | None
    phase: Phase
    steps_done: list[dict[str, Any]]
    steps_done_total: int
    steps_running: list[dict[str, Any]]
    steps_pending: list[str]
    open_tasks: list[OpenTaskView]
    closed_tasks: list[ClosedTaskView]
    pending_responses: list[dict[str, Any]]
    refused_signals: list[RefusedSignal]
    error: str | None


# --- the workflow input ----------------------------------------------------------------------


@dataclass
class RunRequest:
    """`SegmentWorkflow`'s input. Parsed by hand from a plain object (see `from_wire`): a raw
    client may send anything, and a bad input must fail the run clearly, not its workflow task."""

    segment: Any
    input: Any = field(default_factory=dict)
    tenant_id: str | None = None
    options: dict[str, Any] | None = None
    """`continue_as_new_after_events` / `_steps` (see workflows/continue_as_new.py)."""
    resume: dict[str, Any] | None = None
    """What the previous run of a continue-as-new chain carried over (`CarriedState.to_wire`)."""
    subworkflow: dict[str, Any] | None = None
    """Set by a `subworkflow` step on its child run: the root workflow id, the task path, the
    nesting depth and the reference chain (see workflows/subworkflow.py)."""

    @classmethod
    def from_wire(cls, value: Any) -> RunRequest | None:
        if not isinstance(value, dict) or "segment" not in value:
            return None
        tenant = value.get("tenant_id")
        options = value.get("options")
        resume = value.get("resume")
        sub = value.get("subworkflow")
        return cls(
            segment=value["segment"],
            input=value.get("input") or {},
            tenant_id=tenant if isinstance(tenant, str) and tenant else None,
            options=options if isinstance(options, dict) else None,
            resume=resume if isinstance(resume, dict) else None,
            subworkflow=sub if isinstance(sub, dict) else None,
        )

    def to_wire(self) -> dict[str, Any]:
        """As clients have always sent it: absent fields are left out."""
        wire: dict[str, Any] = {
            "segment": self.segment,
            "input": self.input if self.input is not None else {},
        }
        for key in ("tenant_id", "options", "resume", "subworkflow"):
            value = getattr(self, key)
            if value is not None:
                wire[key] = value
        return wire


# --- the signal between runs -----------------------------------------------------------------

TaskEventKind = Literal["opened", "changed", "closed", "refused"]
TASK_EVENT_KINDS: tuple[TaskEventKind, ...] = ("opened", "changed", "closed", "refused")


class TaskEvent(TypedDict):
    """`TASK_EVENT_SIGNAL`'s payload; `task` is the branch task's full view (`HumanTask`)."""

    event: TaskEventKind
    owner: str
    task: dict[str, Any] | None
    refusal: NotRequired[RefusedSignal]
