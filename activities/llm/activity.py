"""The `llm_agent` activity: render nothing, call the provider, check the structured answer.

Output: `{"text", "json" (when structured), "usage": {"input_tokens", "output_tokens"},
"model", "finish_reason"}`. A structured answer that does not match `response_schema` is a
retryable `SchemaMismatch`: models are not deterministic, and the step's retry policy bounds
the attempts.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG, LLM_AGENT_ACTIVITY, StepActivityInput
from activities.llm.base import LlmRequest, ProviderRegistry
from activities.llm.lazy import LazyProvider
from activities.validation import check_schema, parse_config, require_match
from segments.step_configs.llm_agent import LlmAgentConfig


def default_providers() -> ProviderRegistry:
    """`openai` and `anthropic`, configured from their usual environment variables; each SDK is
    imported at the first call that needs it (together they are most of a worker's memory)."""
    return ProviderRegistry(
        {
            "openai": LazyProvider("activities.llm.openai_provider", "OpenAIProvider"),
            "anthropic": LazyProvider("activities.llm.anthropic_provider", "AnthropicProvider"),
        }
    )


class LlmActivities:
    """Worker-wide resources of `llm_agent`: the provider registry (and the SDK clients in it)."""

    def __init__(self, providers: ProviderRegistry | None = None) -> None:
        self.providers = providers if providers is not None else default_providers()

    async def aclose(self) -> None:
        await self.providers.aclose()

    @activity.defn(name=LLM_AGENT_ACTIVITY)
    async def llm_agent(self, input: StepActivityInput) -> dict[str, Any]:
        config = parse_config(LlmAgentConfig, input)
        provider = self.providers.get(config.provider)
        if provider is None:
            raise ApplicationError(
                f"step '{input.step_id}': provider '{config.provider}' is not registered on this worker "
                f"(known: {', '.join(self.providers.names()) or 'none'})",
                type=ERROR_CONFIG,
                non_retryable=True,
            )
        if config.response_schema is not None:
            check_schema(config.response_schema, step_id=input.step_id, field="response_schema")
        result = await provider.complete(
            LlmRequest(
                model=config.model,
                prompt=config.prompt,
                system=config.system,
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                response_schema=config.response_schema,
                step_id=input.step_id,
            )
        )
        activity.logger.info(
            "step '%s': %s %s answered (%s, %s+%s tokens)",
            input.step_id,
            config.provider,
            result.model,
            result.finish_reason,
            result.input_tokens,
            result.output_tokens,
        )
        output: dict[str, Any] = {
            "text": result.text,
            "usage": {"input_tokens": result.input_tokens, "output_tokens": result.output_tokens},
            "model": result.model,
            "finish_reason": result.finish_reason,
        }
        if config.response_schema is not None:
            require_match(
                result.structured,
                config.response_schema,
                step_id=input.step_id,
                field="response_schema",
                what="the model's structured answer",
                retryable=True,
            )
            output["json"] = result.structured
        return output
