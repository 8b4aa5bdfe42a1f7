"""What every model provider implements, and the registry the worker fills.

A provider turns one `LlmRequest` into one `LlmResult`, and maps its failures to
`ApplicationError` (see `activities.llm.errors`). Providers must not retry: Temporal's retry
policy is the only retry loop. A worker registers another provider with
`registry.register("mistral", MyProvider())`; a segment then uses `"provider": "mistral"`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class LlmRequest:
    model: str
    prompt: str
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    response_schema: dict[str, Any] | None = None
    """When set, ask for a structured answer matching it (the caller validates the answer)."""
    step_id: str = ""
    """For error messages."""

    @property
    def schema_name(self) -> str:
        """A name for the schema that every provider accepts (`^[a-zA-Z0-9_-]{1,64}$`)."""
        title = str((self.response_schema or {}).get("title") or "response")
        return re.sub(r"[^a-zA-Z0-9_-]", "_", title)[:64] or "response"


@dataclass(frozen=True)
class LlmResult:
    text: str
    """The answer; for a structured answer, its JSON text."""
    model: str
    finish_reason: str | None
    """The provider's own value (`stop`, `length`, `end_turn`, `tool_use`, `max_tokens`...)."""
    input_tokens: int = 0
    output_tokens: int = 0
    structured: Any = None
    """The parsed structured answer, when the request had a `response_schema`."""


@runtime_checkable
class LlmProvider(Protocol):
    async def complete(self, request: LlmRequest) -> LlmResult: ...


class ProviderRegistry:
    """Providers by name (lower case). Providers should build their SDK client lazily, so that a
    worker without, say, an Anthropic key still starts and only `anthropic` steps fail."""

    def __init__(self, providers: dict[str, LlmProvider] | None = None) -> None:
        self._providers: dict[str, LlmProvider] = {}
        for name, provider in (providers or {}).items():
            self.register(name, provider)

    def register(self, name: str, provider: LlmProvider) -> None:
        if not isinstance(provider, LlmProvider):
            raise TypeError(f"provider '{name}' has no async complete(request) method")
        self._providers[name.strip().lower()] = provider

    def get(self, name: str) -> LlmProvider | None:
        return self._providers.get(name.strip().lower())

    def names(self) -> list[str]:
        return sorted(self._providers)

    async def aclose(self) -> None:
        """Close every provider that has an `aclose()`."""
        for provider in self._providers.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()
