"""Notifications go out through the same guarded, pinned transport as http_action (review H3).

The webhook URL comes from the segment: it passes the egress guard, the connection goes only
to the address the guard checked (DNS rebinding), no proxy from the environment is used, the
answer is read within a bound, and no error quotes the answer's body.
"""

from __future__ import annotations

import gzip
import ipaddress
import tracemalloc
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import ERROR_EGRESS_DENIED, ERROR_HTTP_STATUS
from activities.egress import AllowList, EgressGuard, IPAddress, Resolver
from activities.notify.activity import NotifyActivities
from activities.notify.contracts import NotificationRequest
from activities.notify.settings import NotifySettings
from activities.secrets import EnvSecretProvider
from tests.notify_standins.http_receiver import WebhookReceiver


def _request(url: str) -> NotificationRequest:
    return NotificationRequest(
        channel="webhook", event="opened", run_id="r1", task_id="approve", title="Approve", target=url
    )


async def _send(allow: str, url: str, resolver: Resolver | None = None) -> Any:
    guard = EgressGuard(AllowList.parse(allow) if allow else None, resolver)
    async with NotifyActivities(EnvSecretProvider({}), NotifySettings(), guard) as acts:
        return await ActivityEnvironment().run(acts.notify, _request(url))


async def _refusal(allow: str, url: str, resolver: Resolver | None = None) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await _send(allow, url, resolver)
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/hook",
        "http://[::1]:9/hook",
        "http://0x7f.1/hook",
        "http://192.0.0.8/hook",
    ],
)
async def test_a_webhook_to_a_refused_address_is_not_sent(url: str) -> None:
    error = await _refusal("", url)
    assert error.type == ERROR_EGRESS_DENIED and error.non_retryable


async def test_a_webhook_that_is_not_http_is_refused() -> None:
    assert (await _refusal("", "file:///etc/passwd")).non_retryable


async def test_an_allowed_webhook_is_sent() -> None:
    with WebhookReceiver() as receiver:
        receipt = await _send(f"127.0.0.1:{receiver.port}", receiver.url)
        assert receipt["status"] == 200
        assert len(receiver.requests) == 1
        await _refusal("", receiver.url)  # the same server is refused without the allow-list entry
        assert len(receiver.requests) == 1


async def test_a_webhook_that_rebinds_dns_after_the_check_is_refused() -> None:
    """The name answers a public address to the first lookup and loopback to every later one:
    the connection may only go where the guard looked, so nothing reaches the loopback server."""
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        lookups.append(host)
        return [ipaddress.ip_address("93.184.216.34" if len(lookups) == 1 else "127.0.0.1")]

    with WebhookReceiver() as receiver:
        error = await _refusal("", f"http://localhost:{receiver.port}/hook", rebinding)
        assert receiver.requests == []
    assert error.type == ERROR_EGRESS_DENIED and error.non_retryable
    assert "127.0.0.1" in error.message and len(lookups) >= 2


async def test_a_webhook_connects_to_the_address_the_guard_checked() -> None:
    """`hook.test` exists only for the guard's resolver: the request arriving proves the
    connection used the guard's answer, not a second lookup of its own."""

    async def internal_dns(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")] if host == "hook.test" else []

    with WebhookReceiver() as receiver:
        receipt = await _send(
            f"127.0.0.1:{receiver.port}", f"http://hook.test:{receiver.port}/hook", internal_dns
        )
        (post,) = receiver.requests
        assert post.headers["host"] == f"hook.test:{receiver.port}"
    assert receipt["status"] == 200


async def test_proxy_settings_of_the_environment_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    with WebhookReceiver() as proxy, WebhookReceiver() as receiver:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.origin)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        receipt = await _send(f"127.0.0.1:{receiver.port}", receiver.url)
        assert receipt["status"] == 200
        assert len(receiver.requests) == 1 and proxy.requests == []


async def test_an_error_answer_is_not_quoted_and_409_maps_as_for_http_action() -> None:
    """One status mapping for http_action and notifications: 409 is retryable in both."""
    with WebhookReceiver() as receiver:
        receiver.respond_next(400, b"INTERNAL-SECRET-PAGE admin_token=abc123", {"Content-Type": "text/plain"})
        receiver.respond_next(409, b"INTERNAL-SECRET-PAGE conflict", {"Content-Type": "text/plain"})
        bad = await _refusal(f"127.0.0.1:{receiver.port}", receiver.url)
        conflict = await _refusal(f"127.0.0.1:{receiver.port}", receiver.url)
    for error in (bad, conflict):
        assert error.type == ERROR_HTTP_STATUS
        assert "INTERNAL-SECRET-PAGE" not in f"{error.message} {error.details!r}"
    assert "HTTP 400" in bad.message and bad.non_retryable
    assert "HTTP 409" in conflict.message and not conflict.non_retryable


async def test_a_huge_answer_is_not_read() -> None:
    """A 400 whose gzip body inflates to 64 MiB: the activity reads a bounded prefix, so its
    memory stays small (httpx alone would inflate it all to build the error text)."""
    bomb = gzip.compress(b"A" * (64 * 1024 * 1024), compresslevel=9)
    with WebhookReceiver() as receiver:
        receiver.respond_next(400, bomb, {"Content-Type": "text/plain", "Content-Encoding": "gzip"})
        tracemalloc.start()
        try:
            error = await _refusal(f"127.0.0.1:{receiver.port}", receiver.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert error.type == ERROR_HTTP_STATUS and "AAAA" not in error.message
    assert peak < 16 * 1024 * 1024
