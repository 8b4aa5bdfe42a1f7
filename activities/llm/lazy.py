"""A provider whose module (and so its SDK) is imported at its first call, not at worker start.

The OpenAI and Anthropic SDKs take about 60 MB of a worker's memory and a second of its start;
a worker whose segments never call a model should not pay for them.
"""

from __future__ import annotations

import importlib
from typing import Any

from activities.llm.base import LlmRequest, LlmResult


class LazyProvider:
    def __init__(self, module: str, class_name: str, *args: Any, **kwargs: Any) -> None:
        self.module = module
        self.class_name = class_name
        self._args = args
        self._kwargs = kwargs
        self._provider: Any = None

    @property
    def provider(self) -> Any:
        if self._provider is None:
            provider_class = getattr(importlib.import_module(self.module), self.class_name)
            self._provider = provider_class(*self._args, **self._kwargs)
        return self._provider

    async def complete(self, request: LlmRequest) -> LlmResult:
        result: LlmResult = await self.provider.complete(request)
        return result

    async def aclose(self) -> None:
        """Closes the provider if it was ever used."""
        close = getattr(self._provider, "aclose", None)
        if close is not None:
            await close()
