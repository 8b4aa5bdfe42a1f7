"""Config model of the `switch` step: route by a value, case by case, in the workflow.

Each case names its port and either `equals` (a JSON value compared with the switch's `value`)
or `when` (a JSONata boolean); the first case that matches gives the port, `default` otherwise.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

PORT_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
MAX_CASES = 100


class SwitchCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: str = Field(
        pattern=PORT_PATTERN, description="The port the run goes on through when this case matches."
    )
    equals: Any = Field(
        default=None,
        description="A JSON value: the case matches when the switch's `value` equals it "
        "(same type and content; `1` and `true` differ).",
    )
    when: str | None = Field(
        default=None,
        min_length=1,
        description="A JSONata boolean, bare or in `{% %}`: the case matches when it is true.",
        json_schema_extra={"format": "jsonata"},
    )

    @model_validator(mode="after")
    def _one_test(self) -> SwitchCase:
        has_equals = "equals" in self.model_fields_set
        if has_equals == (self.when is not None):
            raise ValueError("give exactly one of `equals` (a JSON value) or `when` (an expression)")
        return self


class SwitchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str | None = Field(
        default=None,
        min_length=1,
        description="JSONata giving the value that `equals` cases compare with (null when absent).",
        json_schema_extra={"format": "jsonata"},
    )
    cases: list[SwitchCase] = Field(
        min_length=1, max_length=MAX_CASES, description="Tried in order; the first that matches wins."
    )
    default: str = Field(
        default="default", pattern=PORT_PATTERN, description="The port taken when no case matches."
    )

    def ports(self) -> tuple[str, ...]:
        """Each case's port (in order, once) and the default port."""
        ports = dict.fromkeys(case.port for case in self.cases)
        ports[self.default] = None
        return tuple(ports)
