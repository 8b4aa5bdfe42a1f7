"""The `http_action` step: one HTTP request, guarded, rate-limited, with secrets kept out of history.

What the request carries besides the step's own headers:

- `X-Correlation-ID`: the run id (the root workflow id), to find a run from the remote logs;
- `X-Tenant-ID`: the run's tenant, when it has one;
- `Idempotency-Key`: a hash of the step visit (`StepActivityInput.step_key`): the same on every
  retry of one visit, another on the next visit of a loop. A key given in `headers` wins.

Redirects are followed here, not by httpx, so that each hop passes the egress guard and the
credentials are dropped when a redirect leaves the origin. The output is
`{"status", "headers", "body"}`; credentials never appear in it (response headers such as
`Set-Cookie` and `Authorization` are dropped, and secret values are redacted from the body),
nor in errors and logs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.bounded_body import ResponseTooLarge, UndecodableBody, read_bounded
from activities.connections import Endpoints
from activities.contracts import (
    ERROR_CONFIG,
    ERROR_HTTP_STATUS,
    ERROR_RESPONSE_TOO_LARGE,
    HTTP_ACTION_ACTIVITY,
    StepActivityInput,
)
from activities.egress import EgressDenied, EgressGuard, Resolver, denied_error
from activities.http_errors import redact, status_error, transport_error
from activities.http_settings import ENV_PREFIX, HttpSettings
from activities.http_target import Target, connection_target
from activities.outbound import outbound_client
from activities.rate_limit import BREAKER_TIMEOUT_FLOOR, HostLimiter
from activities.secret_binding import HostPattern, SecretBinding, require_bound
from activities.secrets import EnvSecretProvider, SecretProvider, require_secret
from activities.validation import check_schema, parse_config, require_match
from segments.durations import parse_duration
from segments.step_configs.http_action import BasicAuth, BearerAuth, HttpActionConfig, HttpAuth, NoAuth

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SENSITIVE_RESPONSE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "set-cookie2", "x-api-key"}
)
ERROR_BODY_BYTES = 64 * 1024
"""How much of an error response is read for its message."""


@dataclass
class _Credentials:
    headers: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    """Every string that would reveal a credential: redacted from outputs and errors."""
    binding: SecretBinding | None = None
    """Where the secret behind `headers` may go: checked before every hop that carries it."""
    grant: tuple[HostPattern, ...] = ()
    """Hosts the secret may go to besides its binding: a connection's base URL host."""

    def check(self, hop: _Hop, *, tenant: str | None, step_id: str) -> None:
        carried = {name.lower() for name in self.headers} & {name.lower() for name in hop.headers}
        if self.binding is not None and carried:
            require_bound(self.binding, hop.url, tenant=tenant, step_id=step_id, grant=self.grant)


@dataclass
class _Hop:
    method: str
    url: httpx.URL
    headers: dict[str, str]
    content: bytes | None


class HttpActions:
    """Worker-wide resources of `http_action`: one connection pool, the guard, the limits.

    Build it once in the worker, register `http_action`, and `await aclose()` on shutdown.
    """

    def __init__(
        self,
        secrets: SecretProvider | None = None,
        settings: HttpSettings | None = None,
        *,
        resolver: Resolver | None = None,
        endpoints: Endpoints | None = None,
    ) -> None:
        self._secrets = secrets if secrets is not None else EnvSecretProvider()
        self._endpoints = endpoints if endpoints is not None else Endpoints.from_env()
        self._settings = settings if settings is not None else HttpSettings.from_env()
        self._guard = EgressGuard(self._settings.allow, resolver)
        self._limiter = HostLimiter(self._settings)
        self._client = outbound_client(self._guard)

    @property
    def limiter(self) -> HostLimiter:
        return self._limiter

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpActions:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @activity.defn(name=HTTP_ACTION_ACTIVITY)
    async def http_action(self, input: StepActivityInput) -> dict[str, Any]:
        config = parse_config(HttpActionConfig, input)
        step_id = input.step_id
        for name in ("request_schema", "response_schema"):
            schema = getattr(config, name)
            if schema is not None:
                check_schema(schema, step_id=step_id, field=name)
        if config.request_schema is not None:
            require_match(
                config.body,
                config.request_schema,
                step_id=step_id,
                field="request_schema",
                what="the request body",
            )
        target = self._target(config, input)
        credentials = self._credentials(target.auth, step_id)
        credentials.headers.update(target.headers)
        credentials.grant = target.grant
        credentials.secrets += [v for v in target.headers.values() if v]
        timeout = (
            parse_duration(config.timeout) if config.timeout else self._settings.default_timeout
        ).total_seconds()
        limit = min(
            config.max_response_bytes or self._settings.max_response_bytes, self._settings.max_response_bytes
        )
        try:
            url = httpx.URL(target.url).copy_merge_params(config.query)
        except (httpx.InvalidURL, TypeError) as exc:
            raise _config_error(step_id, f"config.url is not a valid URL: {exc}") from None
        if not url.host:
            raise _config_error(step_id, "config.url has no host")
        if target.connection is not None:
            activity.logger.info(
                "step '%s': connection '%s': %s %s", step_id, target.connection, config.method, _shown(url)
            )
        hop = _Hop(config.method, url, _request_headers(config, input, credentials), _content(config))
        hosts: list[str] = []
        tenant = input.run.tenant_id
        try:
            async with asyncio.timeout(timeout):
                response, raw = await self._follow(hop, step_id, limit, credentials, hosts, timeout, tenant)
        except TimeoutError:
            if hosts:
                self._record_timeout(hosts[-1], tenant, timeout)
            raise transport_error(
                TimeoutError(f"no complete answer within {timeout:g}s"),
                what=f"step '{step_id}': {config.method} {_shown(hop.url)}",
                timeout=True,
            ) from None
        body = _redact_json(_decode(response, raw, hop.method), credentials.secrets)
        if config.response_schema is not None:
            require_match(
                body,
                config.response_schema,
                step_id=step_id,
                field="response_schema",
                what=f"the response body (HTTP {response.status_code})",
                secrets=credentials.secrets,
            )
        return {
            "status": response.status_code,
            "headers": _safe_headers(response.headers, credentials),
            "body": body,
        }

    async def _follow(
        self,
        hop: _Hop,
        step_id: str,
        limit: int,
        credentials: _Credentials,
        hosts: list[str],
        timeout: float,
        tenant: str | None,
    ) -> tuple[httpx.Response, bytes]:
        """Send `hop`, following redirects; `hosts` records each host tried (for the breaker).
        A hop that carries the step's secret goes only where the secret is bound, checked each time."""
        for redirects in range(self._settings.max_redirects + 1):
            what = f"step '{step_id}': {hop.method} {_shown(hop.url)}"
            host = hop.url.host
            port = hop.url.port or (443 if hop.url.scheme == "https" else 80)
            try:
                await self._guard.check(hop.url.raw_host.decode("ascii"), port)  # what httpcore connects to
            except EgressDenied as exc:
                raise denied_error(exc, step_id=step_id) from None
            except OSError as exc:
                raise transport_error(exc, what=what) from None
            credentials.check(hop, tenant=tenant, step_id=step_id)
            await self._limiter.admit(host, step_id=step_id, tenant=tenant)
            hosts.append(host)
            response, raw = await self._send(hop, step_id, limit, credentials, timeout, tenant)
            if response.status_code not in REDIRECT_STATUSES or "location" not in response.headers:
                return response, raw
            if redirects == self._settings.max_redirects:
                break
            hop = _redirected(hop, response, step_id, credentials)
            activity.logger.info("%s: redirected (%s) to %s", what, response.status_code, _shown(hop.url))
        raise ApplicationError(
            f"step '{step_id}': more than {self._settings.max_redirects} redirects "
            f"(the worker's {ENV_PREFIX}MAX_REDIRECTS), last to {_shown(hop.url)}",
            type=ERROR_HTTP_STATUS,
            non_retryable=True,
        )

    def _record_timeout(self, host: str, tenant: str | None, timeout: float) -> None:
        if timeout < BREAKER_TIMEOUT_FLOOR:
            self._limiter.record_unknown(host, tenant)
        else:
            self._limiter.record_failure(host, tenant)

    async def _send(
        self,
        hop: _Hop,
        step_id: str,
        limit: int,
        credentials: _Credentials,
        timeout: float,
        tenant: str | None,
    ) -> tuple[httpx.Response, bytes]:
        what = f"step '{step_id}': {hop.method} {_shown(hop.url)}"
        host = hop.url.host
        try:
            request = self._client.build_request(
                hop.method, hop.url, headers=hop.headers, content=hop.content, timeout=httpx.Timeout(timeout)
            )
            response = await self._client.send(request, stream=True)
            try:
                if response.status_code >= 400:
                    raw = await read_bounded(response, ERROR_BODY_BYTES, truncate=True)
                elif response.status_code in REDIRECT_STATUSES:
                    raw = b""
                else:
                    raw = await read_bounded(response, limit, truncate=False)
            finally:
                await response.aclose()
        except ResponseTooLarge as exc:
            self._limiter.record_success(host, tenant)
            raise ApplicationError(
                f"{what}: the response body is larger than {limit} bytes ({exc.seen}+ seen); raise the "
                f"step's "
                f"max_response_bytes or the worker's {ENV_PREFIX}MAX_RESPONSE_BYTES "
                f"(now {self._settings.max_response_bytes})",
                {"limit": limit, "seen": exc.seen},
                type=ERROR_RESPONSE_TOO_LARGE,
                non_retryable=True,
            ) from None
        except UndecodableBody as exc:
            self._limiter.record_success(host, tenant)
            raise ApplicationError(f"{what}: {exc}", type=ERROR_HTTP_STATUS, non_retryable=True) from None
        except httpx.TimeoutException as exc:
            self._record_timeout(host, tenant, timeout)
            raise transport_error(exc, what=what, timeout=True) from None
        except (httpx.TransportError, OSError) as exc:
            if isinstance(exc, httpx.UnsupportedProtocol):
                self._limiter.record_unknown(host, tenant)
                raise _config_error(step_id, f"unsupported URL {_shown(hop.url)}: {exc}") from None
            self._limiter.record_failure(host, tenant)
            raise transport_error(exc, what=what) from None
        except EgressDenied as exc:  # the address changed between the check and the connection
            self._limiter.record_unknown(host, tenant)
            raise denied_error(exc, step_id=step_id) from None
        except BaseException:  # cancellation: the request is aborted, its outcome unknown
            self._limiter.record_unknown(host, tenant)
            raise
        status = response.status_code
        activity.logger.info("%s answered HTTP %s", what, status)
        if status >= 400:
            if status >= 500 or status in (408, 429):
                self._limiter.record_failure(host, tenant)
            else:
                self._limiter.record_success(host, tenant)
            text = raw.decode(response.charset_encoding or "utf-8", errors="replace")
            raise status_error(status, response.headers, text, what=what, secrets=credentials.secrets)
        self._limiter.record_success(host, tenant)
        return response, raw

    def _target(self, config: HttpActionConfig, input: StepActivityInput) -> Target:
        """Where the request goes and with which auth: the step's own `url` and `auth`, or its
        connection's base URL joined with `path` (never leaving it), auth and headers."""
        if config.connection is None:
            assert config.url is not None  # the config model requires url or connection
            return Target(config.url, config.auth)
        return connection_target(self._endpoints, config.connection, config.path or "", input)

    def _credentials(self, auth: HttpAuth, step_id: str) -> _Credentials:
        if isinstance(auth, NoAuth):
            return _Credentials()
        value = require_secret(self._secrets, auth.secret, step_id=step_id, field="auth.secret")
        binding = self._secrets.binding(auth.secret)
        if isinstance(auth, BearerAuth):
            return _Credentials({"Authorization": f"Bearer {value}"}, [value], binding)
        if isinstance(auth, BasicAuth):
            if auth.username is not None:
                user, password = auth.username, value
            elif ":" in value:
                user, password = value.split(":", 1)
            else:
                raise _config_error(
                    step_id,
                    f"auth.secret '{auth.secret}' must hold 'user:password' (or set auth.username "
                    "and keep only the password in the secret)",
                )
            encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            return _Credentials({"Authorization": f"Basic {encoded}"}, [value, password, encoded], binding)
        return _Credentials({auth.header: value}, [value], binding)


def _request_headers(
    config: HttpActionConfig, input: StepActivityInput, credentials: _Credentials
) -> dict[str, str]:
    headers = dict(config.headers)
    given = {name.lower() for name in headers}
    if "idempotency-key" not in given:
        headers["Idempotency-Key"] = hashlib.sha256(input.step_key.encode()).hexdigest()[:32]
    for name in ("X-Correlation-ID", "X-Tenant-ID", *credentials.headers):
        for existing in [h for h in headers if h.lower() == name.lower()]:
            del headers[existing]
    headers["X-Correlation-ID"] = input.run.run_id
    if input.run.tenant_id:
        headers["X-Tenant-ID"] = input.run.tenant_id
    headers.update(credentials.headers)
    if config.body is not None and "content-type" not in given:
        headers["Content-Type"] = (
            "text/plain; charset=utf-8" if isinstance(config.body, str) else "application/json"
        )
    return headers


def _content(config: HttpActionConfig) -> bytes | None:
    if config.body is None:
        return None
    if isinstance(config.body, str):
        return config.body.encode()
    return json.dumps(config.body, ensure_ascii=False, separators=(",", ":")).encode()


def _redirected(hop: _Hop, response: httpx.Response, step_id: str, credentials: _Credentials) -> _Hop:
    """The next hop, as a browser (and httpx) would make it, minus credentials off-origin."""
    try:
        url = hop.url.join(response.headers["location"])
    except httpx.InvalidURL as exc:
        raise ApplicationError(
            f"step '{step_id}': redirect to an invalid URL: {exc}", type=ERROR_HTTP_STATUS, non_retryable=True
        ) from None
    if url.scheme not in ("http", "https"):
        raise ApplicationError(
            f"step '{step_id}': redirect to a {url.scheme or 'relative'} URL; "
            "only http and https are followed",
            type=ERROR_HTTP_STATUS,
            non_retryable=True,
        )
    method, content, headers = hop.method, hop.content, dict(hop.headers)
    status = response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, content = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
    same_origin = (url.scheme, url.host, url.port) == (hop.url.scheme, hop.url.host, hop.url.port)
    if not same_origin:
        dropped = {name.lower() for name in credentials.headers} | {"authorization", "cookie"}
        headers = {k: v for k, v in headers.items() if k.lower() not in dropped}
    return _Hop(method, url, headers, content)


def _decode(response: httpx.Response, raw: bytes, method: str) -> Any:
    """JSON when the response says so (and parses), text otherwise; None without a body."""
    if method == "HEAD" or not raw:
        return None
    text = raw.decode(response.charset_encoding or "utf-8", errors="replace")
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _safe_headers(headers: httpx.Headers, credentials: _Credentials) -> dict[str, str]:
    dropped = SENSITIVE_RESPONSE_HEADERS | {name.lower() for name in credentials.headers}
    out: dict[str, str] = {}
    for name, value in headers.multi_items():
        key = name.lower()
        if key in dropped:
            continue
        value = redact(value, credentials.secrets)
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _redact_json(value: Any, secrets: list[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_redact_json(v, secrets) for v in value]
    if isinstance(value, dict):
        return {redact(str(k), secrets): _redact_json(v, secrets) for k, v in value.items()}
    return value


def _shown(url: httpx.URL) -> str:
    """The URL for messages and logs: no query string (it may carry tokens), no user info."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def _config_error(step_id: str, message: str) -> ApplicationError:
    return ApplicationError(f"step '{step_id}': {message}", type=ERROR_CONFIG, non_retryable=True)
