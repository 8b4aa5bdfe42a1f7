"""The SegmentDefinition: the JSON a canvas editor exports, as pydantic v2 models.

Unknown fields (`position`, UI data, anything an editor adds) are kept, so that
`SegmentDefinition.from_dict(d).to_dict() == d` for any export: a canvas round trip loses nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from segments.durations import parse_duration

DEFAULT_MAX_VISITS = 10
DEFAULT_SOURCE_PORT = "out"
DEFAULT_TARGET_PORT = "in"


def _check_duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


class RetrySpec(BaseModel):
    """A step's retry policy, mapped onto Temporal's RetryPolicy."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(3, ge=1, le=100, description="Attempts in all, the first included.")
    initial_interval: str = Field("PT1S", description="Wait before the first retry (ISO 8601).")
    backoff: float = Field(2.0, ge=1.0, le=10.0, description="Each wait is the previous one times this.")
    max_interval: str = Field("PT1M", description="The longest wait between attempts (ISO 8601).")

    _durations = field_validator("initial_interval", "max_interval")(_check_duration)


class Step(BaseModel):
    """One node of the graph. `config` is checked against the step type's model by validation."""

    model_config = ConfigDict(extra="allow")

    step_id: str = Field(min_length=1, max_length=200, pattern=r"^[^/#\[\]\s]+$")
    type: str
    name: str | None = None
    description: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    retry: RetrySpec | None = None
    timeout: str | None = Field(None, description="ISO 8601 duration: the longest one attempt may take.")
    on_error: Literal["fail", "route"] = "fail"
    max_visits: int = Field(DEFAULT_MAX_VISITS, ge=1, le=100_000)

    _timeout = field_validator("timeout")(_check_duration)

    @property
    def label(self) -> str:
        return self.name or self.step_id


class Edge(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str
    target: str
    source_port: str = DEFAULT_SOURCE_PORT
    target_port: str = DEFAULT_TARGET_PORT


class SegmentDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")

    segment_id: str = Field(min_length=1, max_length=200)
    name: str | None = None
    version: str | None = None
    description: str | None = None
    entrypoint: str | None = None
    input_schema: dict[str, Any] | None = None
    steps: list[Step]
    edges: list[Edge]
    output: Any = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentDefinition:
        return cls.model_validate(data)

    def to_dict(self) -> dict[str, Any]:
        """The definition as it came in: fields the engine ignores are kept, defaults are not added."""
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        return cls.model_json_schema()

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.step_id == step_id:
                return step
        raise KeyError(step_id)
