"""The SDK client each provider holds, built at first use.

Built lazily so that a worker without one provider's key still starts: only the steps that use
that provider fail, non-retryably, naming the variable to set. SDK retries are off in every
client the factories build: Temporal's retry policy is the only retry loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Generic, Protocol, TypeVar

from activities.llm.errors import missing_key_error


class _Closable(Protocol):
    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Closable)
ClientFactory = Callable[[str, str | None, float], ClientT]
"""(api_key, base_url, timeout) -> the SDK's async client."""


class LazySdkClient(Generic[ClientT]):
    def __init__(
        self,
        provider: str,
        env_prefix: str,
        factory: ClientFactory[ClientT],
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        environ: Mapping[str, str] | None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.provider = provider
        self.key_variable = f"{env_prefix}_API_KEY"
        self.api_key = api_key if api_key is not None else env.get(self.key_variable)
        self.base_url = base_url or env.get(f"{env_prefix}_BASE_URL") or None
        self._timeout = timeout
        self._factory = factory
        self._client: ClientT | None = None

    def get(self) -> ClientT:
        if not self.api_key:
            raise missing_key_error(self.provider, self.key_variable)
        if self._client is None:
            self._client = self._factory(self.api_key, self.base_url, self._timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
