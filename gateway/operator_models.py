"""Request and response models of the operator routes: redrive, schedules and triggers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from gateway.models import SegmentRef

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
Overlap = Literal["skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"]


class RedriveResponse(BaseModel):
    run_id: str
    failed_step: str = Field(description="the step the run continues from")
    temporal_run_id: str = Field(description="the new run of the same workflow id")


class CreateScheduleRequest(BaseModel):
    """Exactly one of `segment` and `segment_ref`; exactly one of `cron` and `every`."""

    schedule_id: str = Field(pattern=ID_PATTERN)
    segment: dict[str, Any] | None = None
    segment_ref: SegmentRef | None = None
    input: Any = Field(default_factory=dict)
    cron: str | None = Field(None, max_length=200, examples=["0 9 * * MON-FRI"])
    every: str | None = Field(None, max_length=40, examples=["PT1H"])
    overlap: Overlap = "skip"
    paused: bool = False
    note: str = Field("", max_length=500)

    @model_validator(mode="after")
    def _one_of_each(self) -> CreateScheduleRequest:
        if (self.segment is None) == (self.segment_ref is None):
            raise ValueError("give exactly one of 'segment' and 'segment_ref'")
        if (self.cron is None) == (self.every is None):
            raise ValueError("give exactly one of 'cron' and 'every'")
        return self


class ScheduleNote(BaseModel):
    note: str = Field("", max_length=500)


class TriggeredRun(BaseModel):
    run_id: str
    created: bool = Field(description="false when this delivery id already started the run")
