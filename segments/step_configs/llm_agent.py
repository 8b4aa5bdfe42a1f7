"""Config model of the `llm_agent` step: one model call, text or structured.

Pure pydantic (workflow code may import it). Strings may hold `{% ... %}` templates,
which the workflow renders before the activity runs. Provider keys are worker settings
(OPENAI_API_KEY, ANTHROPIC_API_KEY...), never part of a segment.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segments.schemas import checked_schema


class LlmAgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(
        default="openai",
        min_length=1,
        description="Model provider: `openai`, `anthropic`, or one registered on the worker.",
    )
    model: str | None = Field(
        default=None, min_length=1, description="The provider's model name (or give `llm_ref`)."
    )
    llm_ref: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$",
        description="A model ref configured on the worker (SEGMENTS_MODEL_<NAME>=provider:model, names are "
        "case-insensitive), instead of `provider` and `model`; the output names the resolved ones.",
        json_schema_extra={"x-options": "model_refs"},
    )
    system: str | None = Field(default=None, description="System instructions.")
    prompt: str = Field(min_length=1, description="The user message.")
    temperature: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="Sampling temperature, 0 to 2; the provider's default when absent.",
    )
    max_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Most tokens the answer may use; the provider's default (Anthropic: 4096) when absent.",
    )
    response_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema of a structured answer: the output then carries `json`, "
        "checked against this schema (a mismatch is retried under the step's retry policy).",
    )

    @field_validator("response_schema")
    @classmethod
    def _self_contained(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return checked_schema(value)

    @model_validator(mode="after")
    def _model_or_ref(self) -> LlmAgentConfig:
        if self.llm_ref is None and self.model is None:
            raise ValueError("give `model` (and `provider`), or `llm_ref`")
        if self.llm_ref is not None and (self.model is not None or "provider" in self.model_fields_set):
            raise ValueError("give either `llm_ref` or `provider` and `model`, not both")
        return self
