"""Config model of the `subworkflow` step: run a stored segment as a child run.

The child definition is `<definitions dir>/<segment_id>/<version>.json` on the worker (the
gateway's layout), read by an activity so that it is in the run's history.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

STORED_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"


class SegmentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment_id: str = Field(pattern=STORED_ID, description="The stored segment's id.")
    version: str = Field(pattern=STORED_ID, description="The stored segment's version.")

    @field_validator("segment_id", "version")
    @classmethod
    def _no_parent_directory(cls, value: str) -> str:
        if ".." in value:
            raise ValueError("may not contain '..'")
        return value

    @property
    def key(self) -> str:
        return f"{self.segment_id}@{self.version}"


class SubworkflowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment_ref: SegmentRef = Field(
        description="The child segment, from the worker's definitions store (SEGMENTS_DEFINITIONS_DIR)."
    )
    input: Any = Field(
        default=None,
        description="The child run's input: JSON with `{% %}` templates. Absent: `prev` (the output of "
        "the step before; the run's input at the entrypoint).",
    )
