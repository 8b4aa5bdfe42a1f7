"""The `llm_agent` activity: render nothing, call the provider, check the structured answer.

Output: `{"text", "json" (when structured), "usage": {"input_tokens", "output_tokens"},
"model", "finish_reason"}`, and `llm_ref` and `provider` when the step named a model ref (its
provider and model are resolved here, from the worker's `SEGMENTS_MODEL_<NAME>`).

A structured answer that does not match `response_schema` is a
retryable `SchemaMismatch`: models are not deterministic, and the step's retry policy bounds
the attempts.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.connections import MODEL_PREFIX, Endpoints
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

    def __init__(self, providers: ProviderRegistry | None = None, endpoints: Endpoints | None = None) -> None:
        self.providers = providers if providers is not None else default_providers()
        self.endpoints = endpoints if endpoints is not None else Endpoints.from_env()

    async def aclose(self) -> None:
        await self.providers.aclose()

    @activity.defn(name=LLM_AGENT_ACTIVITY)
    async def llm_agent(self, input: StepActivityInput) -> dict[str, Any]:
        config = parse_config(LlmAgentConfig, input)
        provider_name, model = self._resolve(config, input.step_id)
        provider = self.providers.get(provider_name)
        if provider is None:
            via = f" (model ref '{config.llm_ref}')" if config.llm_ref else ""
            raise ApplicationError(
                f"step '{input.step_id}': provider '{provider_name}'{via} is not registered on this worker "
                f"(known: {', '.join(self.providers.names()) or 'none'})",
                type=ERROR_CONFIG,
                non_retryable=True,
            )
        if config.response_schema is not None:
            check_schema(config.response_schema, step_id=input.step_id, field="response_schema")
        result = await provider.complete(
            LlmRequest(
                model=model,
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
            provider_name,
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
        if config.llm_ref is not None:
            output.update(llm_ref=config.llm_ref, provider=provider_name)
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

    def _resolve(self, config: LlmAgentConfig, step_id: str) -> tuple[str, str]:
        """The provider and model: the step's own, or those of its model ref."""
        if config.llm_ref is None:
            assert config.model is not None  # the config model requires model or llm_ref
            return config.provider, config.model
        ref = self.endpoints.model(config.llm_ref)
        if ref is None:
            raise ApplicationError(
                f"step '{step_id}': model ref '{config.llm_ref}' is not configured on this worker; set "
                f"{MODEL_PREFIX}{config.llm_ref.upper()}=provider:model "
                f"(model refs here: {', '.join(self.endpoints.model_names()) or 'none'})",
                type=ERROR_CONFIG,
                non_retryable=True,
            )
        return ref.provider, ref.model
