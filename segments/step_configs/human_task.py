"""Config model of the `human_task` step: a person approves, chooses, fills in or reviews.

Pure pydantic (workflow code imports it). Strings may hold `{% ... %}` templates; the workflow
renders them when the task opens, and this model checks the rendered config again.

Who may answer: `assignee` (one user name) and/or `assignee_group` (a list of user names: the
group's members, so that the workflow can check a responder without asking a directory). With
neither, any named responder may answer. After the n-th escalation only `escalation[n-1]` may
answer: one user name, or a list of names.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from segments.durations import parse_duration
from segments.expressions import is_template
from segments.schemas import checked_schema
from segments.step_configs.notify import NotifyChannel

TaskKind = Literal["approval", "choice", "input", "review"]
RESERVED_PORTS = ("timeout", "error")
MIN_REMINDER_INTERVAL = timedelta(minutes=1)
MAX_REMINDERS_PER_LEVEL = 20


class ChoiceOption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The option's id: also the name of the port the run leaves by.",
    )
    label: str = Field(min_length=1, description="What the person sees.")


def _duration(value: str | None) -> str | None:
    if value is not None and not is_template(value):
        parse_duration(value)
    return value


class HumanTaskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: TaskKind = Field(
        description="approval: approve/reject; choice: one of `options`; "
        "input: a JSON object matching `input_schema`; review: an acknowledgement."
    )
    title: str = Field(min_length=1, description="One line; may hold `{% %}` templates.")
    description: str = Field("", description="Longer text shown with the task.")
    assignee: str | None = Field(None, min_length=1, description="The one user who may answer.")
    assignee_group: list[str] | None = Field(
        None, min_length=1, description="User names of the group's members: any one of them may answer."
    )
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    options: list[ChoiceOption] | None = Field(
        None, validate_default=True, description="choice only: the options, each {id, label}; ids unique."
    )
    input_schema: dict[str, Any] | None = Field(
        None, description="input only: JSON Schema that the answer's `data` must match."
    )
    timeout: str = Field(
        "PT24H", description="ISO 8601 duration each level waits before escalating or applying on_timeout."
    )
    sla_warning: str | None = Field(
        None,
        description="ISO 8601 duration after each level starts (opening, each escalation) at which "
        "an `sla_warning` goes out; shorter than timeout.",
    )
    remind_every: str | None = Field(
        None,
        description="ISO 8601 duration: while the task is open, a `reminder` notification goes out this "
        "often at each level (at most 20 a level); at least PT1M.",
    )
    escalation: list[str | list[str]] = Field(
        default_factory=list,
        description="Who gets the task after each timeout, in order: a user name or a list of names; "
        "each level waits a fresh `timeout`.",
    )
    on_timeout: Literal["route", "reject", "approve", "fail"] = Field(
        "route",
        description="After the last level times out: `route` (the `timeout` port), `reject` or "
        "`approve` (approval/review: as if answered), or `fail` the step.",
    )
    notify: list[NotifyChannel] = Field(default_factory=list, description="Channels told about the task.")

    _durations = field_validator("timeout")(_duration)

    @field_validator("sla_warning")
    @classmethod
    def _sla_before_timeout(cls, value: str | None, info: ValidationInfo) -> str | None:
        _duration(value)
        timeout = info.data.get("timeout")
        if value is None or is_template(value) or not isinstance(timeout, str) or is_template(timeout):
            return value
        if parse_duration(value) >= parse_duration(timeout):
            raise ValueError(f"must be shorter than timeout ({timeout}); the warning would never go out")
        return value

    @field_validator("remind_every")
    @classmethod
    def _remind_every(cls, value: str | None) -> str | None:
        _duration(value)
        if value is not None and not is_template(value) and parse_duration(value) < MIN_REMINDER_INTERVAL:
            raise ValueError("must be at least PT1M, so that reminders do not flood the channels")
        return value

    @field_validator("options")
    @classmethod
    def _options_for_choice(
        cls, value: list[ChoiceOption] | None, info: ValidationInfo
    ) -> list[ChoiceOption] | None:
        kind = info.data.get("kind")
        if kind == "choice":
            if not value:
                raise ValueError("a choice task needs at least one option ({id, label})")
            ids = [o.id for o in value]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"option ids must be unique; repeated: {', '.join(duplicates)}")
            reserved = [i for i in ids if i in RESERVED_PORTS]
            if reserved:
                raise ValueError(f"option id '{reserved[0]}' is reserved for a port of its own")
        elif value is not None and kind is not None:
            raise ValueError(f"only a choice task has options, not a {kind} task")
        return value

    @field_validator("input_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        return checked_schema(value)

    @field_validator("on_timeout")
    @classmethod
    def _on_timeout_fits_kind(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if value in ("approve", "reject") and kind in ("choice", "input"):
            raise ValueError(f"'{value}' has no meaning for a {kind} task; use 'route' or 'fail'")
        return value

    def responders(self, level: int) -> tuple[str | None, list[str] | None]:
        """(assignee, group) who may answer at escalation `level` (0: before any escalation)."""
        if level == 0:
            return self.assignee, self.assignee_group
        current = self.escalation[level - 1]
        return (current, None) if isinstance(current, str) else (None, list(current))


def task_ports(config: BaseModel) -> tuple[str, ...]:
    """The ports of a human_task with this config (its `dynamic_ports`)."""
    assert isinstance(config, HumanTaskConfig)
    if config.kind == "approval":
        return ("approved", "rejected", "timeout")
    if config.kind == "choice":
        return (*(o.id for o in config.options or ()), "timeout")
    return ("out", "timeout")
