"""The one outbound HTTP path: every request a step or a notification sends goes through here.

`PinnedTransport` is an `httpx.AsyncBaseTransport` (httpx's public transport API): for each
request it asks the egress guard for the host's checked addresses and sends the request to
one of *those addresses*, with the original `Host` header and, for TLS, the original name
as SNI and for certificate verification (httpcore's public `sni_hostname` extension). The
connection can therefore only go where the guard looked: a name that answers a public
address to the check and a private one next (DNS rebinding) never reaches the private one.

Connections are pooled per host name, not per address, so a TLS connection verified for one
name never carries a request for another name that shares its address.

Proxies from the environment (`HTTP_PROXY`...) are never used: a proxy would hide the real
destination from the guard. `outbound_client` is the client every caller uses.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import anyio
import httpcore
import httpx

from activities.egress import EgressGuard

# httpcore loads its network backend (and anyio its socket layer) on the first connection;
# load them with this module, so a worker's first request (or a tight deadline) does not pay for it.
_ = (httpcore.AnyIOBackend, anyio.connect_tcp)

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
MAX_POOLED_HOSTS = 64
"""Host names with a connection pool of their own; the least recently used one is closed."""


class PinnedTransport(httpx.AsyncBaseTransport):
    """Sends each request to an address the guard has just checked (see the module docstring)."""

    def __init__(self, guard: EgressGuard, limits: httpx.Limits | None = None) -> None:
        self._guard = guard
        self._limits = limits or DEFAULT_LIMITS
        self._pools: OrderedDict[tuple[str, str, int], httpx.AsyncHTTPTransport] = OrderedDict()
        self._lock = asyncio.Lock()
        self._ssl = httpx.create_ssl_context(trust_env=False)  # built once: loading CAs is slow

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.raw_host.decode("ascii")  # IDNA-encoded: what a resolver is asked
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = await self._guard.check(host, port)  # EgressDenied goes to the caller
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from None
        pool = await self._pool(url.scheme, host, port)
        last_error: httpx.TransportError | None = None
        for address in addresses:
            pinned = httpx.Request(
                request.method,
                url.copy_with(host=str(address)),
                headers=request.headers,  # holds `Host: <name>` as httpx built it
                stream=request.stream,
                extensions={**request.extensions, "sni_hostname": host},
            )
            try:
                return await pool.handle_async_request(pinned)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent: next address
                last_error = exc
        assert last_error is not None
        raise last_error

    async def _pool(self, scheme: str, host: str, port: int) -> httpx.AsyncHTTPTransport:
        key = (scheme, host, port)
        async with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            pool = httpx.AsyncHTTPTransport(verify=self._ssl, trust_env=False, limits=self._limits)
            self._pools[key] = pool
            evicted = self._pools.popitem(last=False)[1] if len(self._pools) > MAX_POOLED_HOSTS else None
        if evicted is not None:
            await evicted.aclose()
        return pool

    async def aclose(self) -> None:
        async with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            await pool.aclose()


def outbound_client(guard: EgressGuard, limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    """The HTTP client of every outbound call: pinned to checked addresses, no environment
    proxies, no automatic redirects (a caller that follows them checks each hop itself)."""
    return httpx.AsyncClient(
        transport=PinnedTransport(guard, limits),
        trust_env=False,
        follow_redirects=False,
        headers={"Accept-Encoding": "gzip, deflate"},  # the encodings `bounded_body` decodes
    )
