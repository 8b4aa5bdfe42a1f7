"""Secrets go only where they are bound (review finding H1).

Two real servers on 127.0.0.1: `erp`, the service a secret is meant for, and `attacker`, a host
the egress guard lets through (as a public host would be) but the secret is not bound to. Each
test asserts on what the attacker's server actually received."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import ERROR_SECRET_MISSING, ERROR_SECRET_NOT_BOUND, RunInfo, StepActivityInput
from activities.egress import AllowList
from activities.http_action import HttpActions
from activities.http_settings import HttpSettings
from activities.secret_binding import HostPattern
from activities.secrets import EnvSecretProvider
from tests.standins.http_server import Reply, StandinHttpServer

CANARY = "canary-erp-token-3f9d1b"
AUTHS = {
    "bearer": {"type": "bearer", "secret": "ERP_TOKEN"},
    "basic": {"type": "basic", "secret": "ERP_TOKEN", "username": "x"},
    "api_key": {"type": "api_key", "secret": "ERP_TOKEN", "header": "X-Key"},
}


@pytest.fixture
def erp() -> Iterator[StandinHttpServer]:
    with StandinHttpServer() as server:
        server.default = Reply(200, {"ok": True})
        yield server


@pytest.fixture
def attacker() -> Iterator[StandinHttpServer]:
    with StandinHttpServer() as server:
        server.default = Reply(200, {"thanks": True})
        yield server


def leaked(server: StandinHttpServer) -> bool:
    """Whether any request to `server` carried the secret, in any header, in any encoding."""
    encoded = base64.b64encode(f"x:{CANARY}".encode()).decode()
    return any(
        CANARY in value or encoded in value
        for request in server.requests
        for value in request.headers.values()
    )


def make_actions(environ: dict[str, str]) -> HttpActions:
    settings = HttpSettings(allow=AllowList.parse("127.0.0.1"), default_timeout=timedelta(seconds=5))
    return HttpActions(EnvSecretProvider(environ), settings)


@pytest.fixture
async def actions(erp: StandinHttpServer) -> AsyncIterator[HttpActions]:
    async with make_actions(
        {"SEGMENTS_SECRET_ERP_TOKEN": CANARY, "SEGMENTS_SECRET_ERP_TOKEN_HOSTS": erp.origin}
    ) as built:
        yield built


async def call(actions: HttpActions, config: dict[str, Any], tenant: str | None = "acme") -> dict[str, Any]:
    step = StepActivityInput(
        step_id="send",
        step_type="http_action",
        config=config,
        run=RunInfo(run_id="run-1", segment_id="s", tenant_id=tenant, started_at="2026-01-01T00:00:00Z"),
        visit=1,
    )
    result: dict[str, Any] = await ActivityEnvironment().run(actions.http_action, step)
    return result


async def refusal(
    actions: HttpActions, config: dict[str, Any], tenant: str | None = "acme"
) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await call(actions, config, tenant)
    assert caught.value.non_retryable
    assert CANARY not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("auth", sorted(AUTHS))
async def test_bound_secret_reaches_its_host(
    actions: HttpActions, erp: StandinHttpServer, attacker: StandinHttpServer, auth: str
) -> None:
    result = await call(actions, {"url": f"{erp.url}/orders", "auth": AUTHS[auth]})
    assert result["status"] == 200 and leaked(erp)
    assert not leaked(attacker)


@pytest.mark.parametrize("auth", sorted(AUTHS))
async def test_secret_sent_to_an_unbound_host_never_arrives(
    actions: HttpActions, attacker: StandinHttpServer, auth: str
) -> None:
    error = await refusal(actions, {"url": f"{attacker.url}/collect", "auth": AUTHS[auth]})
    assert error.type == ERROR_SECRET_NOT_BOUND
    assert "SEGMENTS_SECRET_ERP_TOKEN_HOSTS" in error.message
    assert attacker.requests == []


async def test_secret_without_any_binding_goes_nowhere(erp: StandinHttpServer) -> None:
    async with make_actions({"SEGMENTS_SECRET_ERP_TOKEN": CANARY}) as unbound:
        error = await refusal(unbound, {"url": f"{erp.url}/orders", "auth": AUTHS["bearer"]})
    assert error.type == ERROR_SECRET_NOT_BOUND
    assert "bound to no host; set SEGMENTS_SECRET_ERP_TOKEN_HOSTS" in error.message
    assert erp.requests == []


async def test_redirect_from_the_bound_host_to_another_never_carries_the_secret(
    actions: HttpActions, erp: StandinHttpServer, attacker: StandinHttpServer
) -> None:
    erp.reply(Reply(302, headers={"Location": f"{attacker.url}/collect"}), path="/orders")
    result = await call(actions, {"url": f"{erp.url}/orders", "auth": AUTHS["bearer"]})
    assert result["status"] == 200
    assert [r.path for r in attacker.requests] == ["/collect"]  # followed, without the secret
    assert not leaked(attacker)


async def test_redirect_through_an_unbound_host_never_carries_the_secret(
    actions: HttpActions, erp: StandinHttpServer, attacker: StandinHttpServer
) -> None:
    """The step's URL is the attacker's, which would redirect to the bound host: refused before
    the first hop, so the attacker never sees the secret either."""
    attacker.reply(Reply(307, headers={"Location": f"{erp.url}/orders"}), path="/hop")
    error = await refusal(actions, {"url": f"{attacker.url}/hop", "auth": AUTHS["api_key"]})
    assert error.type == ERROR_SECRET_NOT_BOUND
    assert attacker.requests == [] and erp.requests == []


async def test_same_origin_redirect_keeps_the_secret_and_is_checked_again(
    actions: HttpActions, erp: StandinHttpServer
) -> None:
    erp.reply(Reply(301, headers={"Location": "/v2/orders"}), path="/orders")
    result = await call(actions, {"url": f"{erp.url}/orders", "auth": AUTHS["bearer"]})
    assert result["status"] == 200
    assert [r.path for r in erp.requests] == ["/orders", "/v2/orders"]
    assert all(CANARY in r.headers.get("authorization", "") for r in erp.requests)


async def test_tenants_limit_who_may_use_a_secret(erp: StandinHttpServer) -> None:
    environ = {
        "SEGMENTS_SECRET_ERP_TOKEN": CANARY,
        "SEGMENTS_SECRET_ERP_TOKEN_HOSTS": erp.origin,
        "SEGMENTS_SECRET_ERP_TOKEN_TENANTS": "globex, initech",
    }
    async with make_actions(environ) as scoped:
        error = await refusal(scoped, {"url": f"{erp.url}/orders", "auth": AUTHS["bearer"]}, tenant="acme")
        assert error.type == ERROR_SECRET_NOT_BOUND and "SEGMENTS_SECRET_ERP_TOKEN_TENANTS" in error.message
        await refusal(scoped, {"url": f"{erp.url}/orders", "auth": AUTHS["bearer"]}, tenant=None)
        assert erp.requests == []
        result = await call(scoped, {"url": f"{erp.url}/orders", "auth": AUTHS["bearer"]}, tenant="globex")
    assert result["status"] == 200 and leaked(erp)


async def test_worker_integration_credentials_cannot_be_named(attacker: StandinHttpServer) -> None:
    """The Slack bot token and SMTP password live outside SEGMENTS_SECRET_*: naming them finds nothing."""
    environ = {"SEGMENTS_SLACK_BOT_TOKEN": CANARY, "SEGMENTS_SMTP_PASSWORD": CANARY}
    async with make_actions(environ) as built:
        for name in ("SLACK_BOT_TOKEN", "SMTP_PASSWORD"):
            error = await refusal(
                built, {"url": f"{attacker.url}/c", "auth": {"type": "bearer", "secret": name}}
            )
            assert error.type == ERROR_SECRET_MISSING
    assert attacker.requests == []


@pytest.mark.parametrize(
    ("pattern", "url", "allowed"),
    [
        ("erp.example.com", "https://erp.example.com/x", True),
        ("erp.example.com", "https://ERP.example.com.:8443/x", True),
        ("erp.example.com:443", "https://erp.example.com/x", True),
        ("erp.example.com:443", "http://erp.example.com/x", False),
        ("erp.example.com", "https://erp.example.com.evil.test/x", False),
        ("*.example.com", "https://a.b.example.com/x", True),
        ("*.example.com", "https://example.com/x", False),
        ("*.example.com", "https://badexample.com/x", False),
        ("[::1]:8080", "http://[::1]:8080/x", True),
        ("bücher.example", "https://xn--bcher-kva.example/", True),
    ],
)
def test_host_patterns(pattern: str, url: str, allowed: bool) -> None:
    parsed = HostPattern.parse(pattern)
    target = httpx.URL(url)
    host = target.raw_host.decode().lower().rstrip(".").strip("[]")
    port = target.port or (443 if target.scheme == "https" else 80)
    assert parsed.matches(host, port) is allowed
