"""The egress guard: unit checks of the policy, then `http_action` against real local servers."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import ERROR_EGRESS_DENIED, RunInfo, StepActivityInput
from activities.egress import AllowList, EgressDenied, EgressGuard, IPAddress, Resolver, refusal_reason
from activities.http_action import HttpActions
from activities.http_settings import HttpSettings
from activities.secrets import EnvSecretProvider
from tests.standins.http_server import Reply, StandinHttpServer

REFUSED = [
    "169.254.169.254",
    "fd00:ec2::254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "100.64.0.1",
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "ff02::1",
    "169.254.1.1",
    "fe80::1",
    "fd12:3456::1",
    "fec0::1",
    "240.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "192.0.0.8",  # IETF protocol assignments (192.0.0.0/24): global for Python < 3.11.10 (review L7)
]
PUBLIC = ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_metadata_reason_is_named() -> None:
    assert refusal_reason(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"


@pytest.mark.parametrize("host", ["0x7f.1", "2130706433", "127.1", "0177.0.0.1", "localhost", "[::1]"])
async def test_odd_notations_resolve_to_loopback_and_are_refused(host: str) -> None:
    with pytest.raises(EgressDenied) as caught:
        await EgressGuard().check(host, 80)
    assert caught.value.address.is_loopback


def test_allow_list_entries() -> None:
    allow = AllowList.parse("10.0.0.0/8, erp.internal:8443, *.corp.example, [::1]:9000, 127.0.0.1")
    ip = ipaddress.ip_address
    assert allow.allows_address(ip("10.1.2.3"), 80)
    assert not allow.allows_address(ip("192.168.0.1"), 80)
    assert allow.allows_host("erp.internal", 8443)
    assert not allow.allows_host("erp.internal", 443)
    assert allow.allows_host("api.corp.example", 443)
    assert not allow.allows_host("corp.example.evil", 443)
    assert allow.allows_address(ip("::1"), 9000)
    assert not allow.allows_address(ip("::1"), 9001)
    assert allow.allows_address(ip("127.0.0.1"), 1234)


def test_metadata_needs_an_exact_entry() -> None:
    metadata = ipaddress.ip_address("169.254.169.254")
    assert not AllowList.parse("169.254.0.0/16").allows_address(metadata, 80)
    assert AllowList.parse("169.254.169.254").allows_address(metadata, 80)


@pytest.mark.parametrize("entry", ["not a host", "10.0.0.1:99999", "host:port", "a..b"])
def test_bad_allow_entries_are_refused_at_startup(entry: str) -> None:
    with pytest.raises(ValueError, match="SEGMENTS_HTTP_ALLOW"):
        AllowList.parse(entry)


def test_settings_from_env() -> None:
    settings = HttpSettings.from_env(
        {
            "SEGMENTS_HTTP_ALLOW": "10.0.0.0/8,erp.internal",
            "SEGMENTS_HTTP_MAX_RESPONSE_BYTES": "2048",
            "SEGMENTS_HTTP_TIMEOUT": "PT5S",
            "SEGMENTS_HTTP_RATE_LIMITS": "api.example.com=5, *=0.5",
            "SEGMENTS_HTTP_BREAKER_FAILURES": "3",
            "SEGMENTS_HTTP_BREAKER_COOLDOWN": "90",
        }
    )
    assert settings.allow.allows_host("erp.internal", 443)
    assert settings.max_response_bytes == 2048
    assert settings.default_timeout == timedelta(seconds=5)
    assert settings.rate_for("API.example.com") == 5 and settings.rate_for("other") == 0.5
    assert settings.breaker_failures == 3 and settings.breaker_cooldown == timedelta(seconds=90)
    assert HttpSettings.from_env({}).allow.entries == ()
    with pytest.raises(ValueError, match="SEGMENTS_HTTP_RATE_LIMITS"):
        HttpSettings.from_env({"SEGMENTS_HTTP_RATE_LIMITS": "api.example.com"})


# -- through the activity, against real servers ---------------------------------------------


def step(url: str, step_id: str = "fetch") -> StepActivityInput:
    return StepActivityInput(
        step_id=step_id,
        step_type="http_action",
        config={"url": url},
        run=RunInfo(run_id="run-egress", segment_id="seg", tenant_id=None, started_at="2026-01-01T00:00:00Z"),
    )


@pytest.fixture
def server() -> Iterator[StandinHttpServer]:
    with StandinHttpServer() as running:
        yield running


@pytest.fixture
def other_server() -> Iterator[StandinHttpServer]:
    with StandinHttpServer() as running:
        yield running


def actions_allowing(allow: str, resolver: Resolver | None = None) -> HttpActions:
    settings = HttpSettings(allow=AllowList.parse(allow), default_timeout=timedelta(seconds=5))
    return HttpActions(EnvSecretProvider({}), settings, resolver=resolver)


@pytest.fixture
async def closed_actions() -> AsyncIterator[HttpActions]:
    async with actions_allowing("") as actions:
        yield actions


async def refused(actions: HttpActions, url: str) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(actions.http_action, step(url))
    error = caught.value
    assert error.type == ERROR_EGRESS_DENIED
    assert error.non_retryable
    assert "step 'fetch'" in error.message and "SEGMENTS_HTTP_ALLOW" in error.message
    return error


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.0.0.1/admin", "10.0.0.1"),
        ("http://[fd00:ec2::254]/latest", "fd00:ec2::254"),
    ],
)
async def test_activity_refuses_internal_addresses(closed_actions: HttpActions, url: str, shown: str) -> None:
    error = await refused(closed_actions, url)
    assert shown in error.message


async def test_loopback_server_is_refused_in_every_notation_until_allowed(
    closed_actions: HttpActions, server: StandinHttpServer
) -> None:
    for host in ("127.0.0.1", "0x7f.1", "2130706433", "127.1", "localhost"):
        await refused(closed_actions, f"http://{host}:{server.port}/x")
    assert server.requests == []
    # The same URL works once the allow list opens the address: it was the guard that refused.
    async with actions_allowing("127.0.0.1") as open_actions:
        result = await ActivityEnvironment().run(
            open_actions.http_action, step(f"http://0x7f.1:{server.port}/x")
        )
    assert result["status"] == 200 and len(server.requests) == 1


async def test_ipv6_loopback_is_refused(closed_actions: HttpActions) -> None:
    error = await refused(closed_actions, "http://[::1]:8080/")
    assert "::1" in error.message


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"])
async def test_redirect_to_internal_address_is_refused(server: StandinHttpServer, target: str) -> None:
    server.reply(Reply(302, headers={"Location": target}), path="/start")
    async with actions_allowing(server.origin) as actions:
        error = await refused(actions, f"{server.url}/start")
    assert ipaddress.ip_address(error.details[0]["address"]) == ipaddress.ip_address(target.split("/")[2])


async def test_redirect_to_a_port_not_allowed_never_connects(
    server: StandinHttpServer, other_server: StandinHttpServer
) -> None:
    server.reply(Reply(302, headers={"Location": f"{other_server.url}/inside"}), path="/start")
    async with actions_allowing(server.origin) as actions:
        error = await refused(actions, f"{server.url}/start")
    assert str(other_server.port) in error.message
    assert len(server.requests) == 1
    assert other_server.requests == []


async def test_allowed_host_name_reaches_the_address_it_resolved_to(server: StandinHttpServer) -> None:
    async def internal_dns(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")] if host == "erp.internal" else []

    async with actions_allowing("erp.internal", internal_dns) as actions:
        result = await ActivityEnvironment().run(
            actions.http_action, step(f"http://erp.internal:{server.port}/o")
        )
    assert result["status"] == 200
    assert server.requests[0].headers["host"] == f"erp.internal:{server.port}"


async def test_dns_rebinding_is_caught_at_connect_time(server: StandinHttpServer) -> None:
    """The name answers a public address to the check, then loopback: the connection must not follow."""
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])

    async def rebinding_dns(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(next(answers))]

    async with actions_allowing("", rebinding_dns) as actions:
        error = await refused(actions, f"http://rebind.test:{server.port}/")
    assert "127.0.0.1" in error.message
    assert server.requests == []
