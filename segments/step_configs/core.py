"""Config models of the step types that need nothing outside: `transform` and `condition`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TransformConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str = Field(
        min_length=1,
        description="JSONata; its value is the step's output. Sees input, steps.<id>.output, run, $env.",
        json_schema_extra={"format": "jsonata"},
    )


class ConditionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str = Field(
        min_length=1,
        description="JSONata giving true or false: the run goes on through the port of that name. "
        "An undefined result (a missing field) counts as false.",
        json_schema_extra={"format": "jsonata"},
    )
