"""`http_action` run as a real activity (ActivityEnvironment) against a real local HTTP server."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import gzip
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import (
    ERROR_CIRCUIT_OPEN,
    ERROR_CONFIG,
    ERROR_HTTP_STATUS,
    ERROR_HTTP_TRANSPORT,
    ERROR_RATE_LIMITED,
    ERROR_RESPONSE_TOO_LARGE,
    ERROR_SCHEMA,
    ERROR_SECRET_MISSING,
    RunInfo,
    StepActivityInput,
)
from activities.egress import AllowList
from activities.http_action import HttpActions
from activities.http_settings import HttpSettings
from activities.secrets import EnvSecretProvider
from tests.standins.http_server import RecordedRequest, Reply, StandinHttpServer

CANARY = "canary-7f3a9c1e-secret-token"
SECRETS = {
    "SEGMENTS_SECRET_ERP_TOKEN": CANARY,
    "SEGMENTS_SECRET_ERP_LOGIN": f"erp-user:{CANARY}",
    "SEGMENTS_SECRET_ERP_PASSWORD": CANARY,
    **{f"SEGMENTS_SECRET_{name}_HOSTS": "127.0.0.1" for name in ("ERP_TOKEN", "ERP_LOGIN", "ERP_PASSWORD")},
}


def settings(**overrides: Any) -> HttpSettings:
    base = HttpSettings(allow=AllowList.parse("127.0.0.1"), default_timeout=timedelta(seconds=5))
    return dataclasses.replace(base, **overrides)


@pytest.fixture
def server() -> Iterator[StandinHttpServer]:
    with StandinHttpServer() as running:
        yield running


@pytest.fixture
async def actions() -> AsyncIterator[HttpActions]:
    async with HttpActions(EnvSecretProvider(SECRETS), settings()) as built:
        yield built


def step_input(config: dict[str, Any], *, visit: int = 1, tenant: str | None = "acme") -> StepActivityInput:
    return StepActivityInput(
        step_id="place",
        step_type="http_action",
        config=config,
        run=RunInfo(
            run_id="run-42", segment_id="orders", tenant_id=tenant, started_at="2026-01-01T00:00:00Z"
        ),
        visit=visit,
    )


async def run(actions: HttpActions, config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = await ActivityEnvironment().run(
        actions.http_action, step_input(config, **kwargs)
    )
    return result


async def failure(actions: HttpActions, config: dict[str, Any], **kwargs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await run(actions, config, **kwargs)
    return caught.value


def assert_no_canary(*values: Any) -> None:
    for value in values:
        assert CANARY not in json.dumps(value, default=str)


# -- success ---------------------------------------------------------------------------------


async def test_get_json_with_query_and_engine_headers(
    actions: HttpActions, server: StandinHttpServer
) -> None:
    server.reply(Reply(200, {"id": 7, "items": [1, 2]}, headers={"X-Trace": "t1"}), path="/orders")
    result = await run(actions, {"url": f"{server.url}/orders?fixed=1", "query": {"page": 2, "open": True}})

    assert result["status"] == 200
    assert result["body"] == {"id": 7, "items": [1, 2]}
    assert result["headers"]["content-type"] == "application/json"
    assert result["headers"]["x-trace"] == "t1"
    sent = server.requests[0]
    assert sent.method == "GET"
    assert sent.query == {"fixed": ["1"], "page": ["2"], "open": ["true"]}
    assert sent.headers["x-correlation-id"] == "run-42"
    assert sent.headers["x-tenant-id"] == "acme"
    assert len(sent.headers["idempotency-key"]) == 32


async def test_post_json_body_and_text_response(actions: HttpActions, server: StandinHttpServer) -> None:
    server.reply(Reply(201, "created #12"), path="/orders")
    result = await run(
        actions,
        {"method": "POST", "url": f"{server.url}/orders", "body": {"sku": "A-1", "qty": 3}},
        tenant=None,
    )

    assert result == {"status": 201, "headers": result["headers"], "body": "created #12"}
    sent = server.requests[0]
    assert sent.json() == {"sku": "A-1", "qty": 3}
    assert sent.headers["content-type"] == "application/json"
    assert "x-tenant-id" not in sent.headers


async def test_string_body_is_sent_as_text(actions: HttpActions, server: StandinHttpServer) -> None:
    await run(actions, {"method": "PUT", "url": f"{server.url}/note", "body": "hello"})
    assert server.requests[0].body == b"hello"
    assert server.requests[0].headers["content-type"].startswith("text/plain")


async def test_head_has_no_body(actions: HttpActions, server: StandinHttpServer) -> None:
    result = await run(actions, {"method": "HEAD", "url": f"{server.url}/x"})
    assert result["status"] == 200 and result["body"] is None
    assert server.requests[0].method == "HEAD"


# -- auth and secrets -------------------------------------------------------------------------


def echo_auth(request: RecordedRequest) -> Reply:
    """A careless server that echoes credentials back, in its body and in its headers."""
    seen = {k: v for k, v in request.headers.items() if k in ("authorization", "x-api-key", "x-erp-key")}
    return Reply(200, {"you_sent": seen}, headers={"Set-Cookie": f"s={CANARY}", "X-Echo": json.dumps(seen)})


@pytest.mark.parametrize(
    "auth, header, expected",
    [
        ({"type": "bearer", "secret": "ERP_TOKEN"}, "authorization", f"Bearer {CANARY}"),
        (
            {"type": "basic", "secret": "ERP_LOGIN"},
            "authorization",
            "Basic " + base64.b64encode(f"erp-user:{CANARY}".encode()).decode(),
        ),
        (
            {"type": "basic", "secret": "ERP_PASSWORD", "username": "erp-user"},
            "authorization",
            "Basic " + base64.b64encode(f"erp-user:{CANARY}".encode()).decode(),
        ),
        ({"type": "api_key", "secret": "ERP_TOKEN"}, "x-api-key", CANARY),
        ({"type": "api_key", "secret": "ERP_TOKEN", "header": "X-Erp-Key"}, "x-erp-key", CANARY),
    ],
)
async def test_auth_is_sent_and_never_returned(
    actions: HttpActions,
    server: StandinHttpServer,
    auth: dict[str, str],
    header: str,
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.handle("/me", echo_auth)
    # DEBUG for our loggers; httpcore's own DEBUG traces print raw response headers, which this
    # careless server fills with the secret: a worker must not run httpcore at DEBUG in production.
    with (
        caplog.at_level(logging.DEBUG, logger="temporalio"),
        caplog.at_level(logging.DEBUG, logger="activities"),
    ):
        result = await run(actions, {"url": f"{server.url}/me", "auth": auth})

    assert server.requests[0].headers[header] == expected
    assert "set-cookie" not in result["headers"]
    assert (
        result["body"]["you_sent"][header] == "[REDACTED]"
        or "[REDACTED]" in result["body"]["you_sent"][header]
    )
    assert_no_canary(result)
    assert expected not in json.dumps(result)
    assert CANARY not in caplog.text


async def test_secret_in_an_error_body_is_redacted(actions: HttpActions, server: StandinHttpServer) -> None:
    server.reply(Reply(403, f"token {CANARY} is not allowed here"), path="/me")
    error = await failure(
        actions, {"url": f"{server.url}/me", "auth": {"type": "bearer", "secret": "ERP_TOKEN"}}
    )
    assert error.non_retryable and "403" in error.message
    assert "[REDACTED] is not allowed" in error.message
    assert_no_canary(error.message, error.details)


async def test_missing_secret_fails_without_sending(actions: HttpActions, server: StandinHttpServer) -> None:
    error = await failure(actions, {"url": f"{server.url}/me", "auth": {"type": "bearer", "secret": "NOPE"}})
    assert error.type == ERROR_SECRET_MISSING and error.non_retryable
    assert "SEGMENTS_SECRET_NOPE" in error.message
    assert server.requests == []


async def test_credentials_are_dropped_on_a_cross_origin_redirect(
    actions: HttpActions, server: StandinHttpServer
) -> None:
    with StandinHttpServer() as elsewhere:
        server.reply(Reply(302, headers={"Location": "/same"}), path="/start")
        server.reply(Reply(307, headers={"Location": f"{elsewhere.url}/other"}), path="/same")
        result = await run(
            actions,
            {
                "method": "POST",
                "url": f"{server.url}/start",
                "body": {"a": 1},
                "auth": {"type": "bearer", "secret": "ERP_TOKEN"},
            },
        )
        assert result["status"] == 200
        start, same = server.requests
        assert start.headers["authorization"] == same.headers["authorization"] == f"Bearer {CANARY}"
        assert same.method == "GET"  # 302 after POST: GET, like browsers and httpx
        (other,) = elsewhere.requests
        assert "authorization" not in other.headers
        assert other.headers["x-correlation-id"] == "run-42"


# -- status errors -----------------------------------------------------------------------------


async def test_500_is_retryable(actions: HttpActions, server: StandinHttpServer) -> None:
    server.reply(Reply(500, "database down"), path="/orders")
    error = await failure(actions, {"url": f"{server.url}/orders"})
    assert error.type == ERROR_HTTP_STATUS
    assert not error.non_retryable
    assert error.details[0]["status"] == 500
    assert "database down" in error.message


async def test_429_retry_after_seconds_sets_next_retry_delay(
    actions: HttpActions, server: StandinHttpServer
) -> None:
    server.reply(Reply(429, {"error": "slow down"}, headers={"Retry-After": "7"}), path="/orders")
    error = await failure(actions, {"url": f"{server.url}/orders"})
    assert not error.non_retryable
    assert error.next_retry_delay == timedelta(seconds=7)


async def test_503_retry_after_http_date(actions: HttpActions, server: StandinHttpServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    server.reply(Reply(503, headers={"Retry-After": when}), path="/orders")
    error = await failure(actions, {"url": f"{server.url}/orders"})
    assert not error.non_retryable
    assert error.next_retry_delay is not None
    assert timedelta(seconds=100) < error.next_retry_delay <= timedelta(seconds=120)


async def test_404_is_not_retryable_and_shows_status_and_body(
    actions: HttpActions, server: StandinHttpServer
) -> None:
    server.reply(Reply(404, {"error": "no order 99"}), path="/orders/99")
    error = await failure(actions, {"url": f"{server.url}/orders/99"})
    assert error.non_retryable
    assert error.type == ERROR_HTTP_STATUS
    assert "404" in error.message and "no order 99" in error.message
    assert error.details[0] == {"status": 404, "body": '{"error": "no order 99"}'}


async def test_error_body_snippet_is_bounded(actions: HttpActions, server: StandinHttpServer) -> None:
    server.reply(Reply(400, "x" * 50_000), path="/big-error")
    error = await failure(actions, {"url": f"{server.url}/big-error"})
    assert error.non_retryable and len(error.message) < 1000


# -- schemas and size ------------------------------------------------------------------------

ORDER_SCHEMA = {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}


async def test_request_schema_mismatch_sends_nothing(actions: HttpActions, server: StandinHttpServer) -> None:
    error = await failure(
        actions,
        {"method": "POST", "url": f"{server.url}/orders", "body": {"qty": 1}, "request_schema": ORDER_SCHEMA},
    )
    assert error.type == ERROR_SCHEMA and error.non_retryable
    assert "at $.sku: is required but missing" in error.message
    assert server.requests == []


async def test_response_schema_mismatch(actions: HttpActions, server: StandinHttpServer) -> None:
    server.reply(Reply(200, {"sku": 12}), path="/orders/1")
    error = await failure(actions, {"url": f"{server.url}/orders/1", "response_schema": ORDER_SCHEMA})
    assert error.type == ERROR_SCHEMA and error.non_retryable
    assert "$.sku" in error.message

    server.reply(Reply(200, {"sku": "A-1"}), path="/orders/1")
    ok = await run(actions, {"url": f"{server.url}/orders/1", "response_schema": ORDER_SCHEMA})
    assert ok["body"] == {"sku": "A-1"}


async def test_invalid_schema_is_a_config_error(actions: HttpActions, server: StandinHttpServer) -> None:
    error = await failure(actions, {"url": f"{server.url}/x", "response_schema": {"type": "nonsense"}})
    assert error.type == ERROR_CONFIG and error.non_retryable


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversize_body_is_cut(server: StandinHttpServer, chunked: bool) -> None:
    server.reply(Reply(200, b"x" * 50_000, chunked=chunked), path="/dump")
    async with HttpActions(EnvSecretProvider({}), settings(max_response_bytes=4096)) as actions:
        error = await failure(actions, {"url": f"{server.url}/dump"})
    assert error.type == ERROR_RESPONSE_TOO_LARGE and error.non_retryable
    assert "4096" in error.message and "SEGMENTS_HTTP_MAX_RESPONSE_BYTES" in error.message


async def test_step_may_lower_the_size_limit(actions: HttpActions, server: StandinHttpServer) -> None:
    server.reply(Reply(200, "y" * 2000), Reply(200, "y" * 2000), path="/dump")
    assert (await run(actions, {"url": f"{server.url}/dump"}))["body"] == "y" * 2000
    error = await failure(actions, {"url": f"{server.url}/dump", "max_response_bytes": 1000})
    assert error.type == ERROR_RESPONSE_TOO_LARGE and "1000" in error.message


# -- idempotency, timeouts, cancellation --------------------------------------------------------


async def test_idempotency_key_is_stable_per_visit(actions: HttpActions, server: StandinHttpServer) -> None:
    server.reply(Reply(503), path="/pay")
    config = {"method": "POST", "url": f"{server.url}/pay", "body": {"amount": 5}}
    first = ActivityEnvironment()
    with pytest.raises(ApplicationError):
        await first.run(actions.http_action, step_input(config))
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    await retry.run(actions.http_action, step_input(config))
    await run(actions, config, visit=2)

    keys = [r.headers["idempotency-key"] for r in server.requests]
    assert keys[0] == keys[1]
    assert keys[2] != keys[0]


async def test_given_idempotency_key_wins(actions: HttpActions, server: StandinHttpServer) -> None:
    await run(actions, {"url": f"{server.url}/x", "headers": {"idempotency-key": "mine"}})
    assert server.requests[0].headers["idempotency-key"] == "mine"


async def test_timeout_is_retryable(actions: HttpActions, server: StandinHttpServer) -> None:
    server.reply(Reply(200, hold=3), path="/slow")
    started = asyncio.get_running_loop().time()
    error = await failure(actions, {"url": f"{server.url}/slow", "timeout": "PT0.3S"})
    assert asyncio.get_running_loop().time() - started < 2
    assert error.type == ERROR_HTTP_TRANSPORT and not error.non_retryable
    assert "timed out" in error.message


async def test_connection_refused_is_retryable(actions: HttpActions) -> None:
    with StandinHttpServer() as gone:
        url = f"{gone.url}/x"
    error = await failure(actions, {"url": url})
    assert error.type == ERROR_HTTP_TRANSPORT and not error.non_retryable


async def test_cancellation_aborts_the_request(actions: HttpActions, server: StandinHttpServer) -> None:
    server.reply(Reply(200, hold=10), path="/slow")
    env = ActivityEnvironment()
    task = asyncio.create_task(env.run(actions.http_action, step_input({"url": f"{server.url}/slow"})))
    (request,) = await asyncio.to_thread(server.wait_for_requests, 1)
    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(server.wait_for_disconnect, request, 3)
    assert request.answered_at is None


async def test_bad_config_is_not_retryable(actions: HttpActions) -> None:
    error = await failure(actions, {"url": "ftp://example.com/x", "method": "FETCH"})
    assert error.type == ERROR_CONFIG and error.non_retryable
    assert "config.method" in error.message and "config.url" in error.message


# -- rate limit and circuit breaker ---------------------------------------------------------------


async def test_circuit_opens_after_consecutive_failures(server: StandinHttpServer) -> None:
    server.reply(Reply(500), Reply(502), path="/flaky")
    config = {"url": f"{server.url}/flaky"}
    tuned = settings(breaker_failures=2, breaker_cooldown=timedelta(seconds=60))
    async with HttpActions(EnvSecretProvider({}), tuned) as actions:
        for _ in range(2):
            assert (await failure(actions, config)).type == ERROR_HTTP_STATUS
        error = await failure(actions, config)
    assert error.type == ERROR_CIRCUIT_OPEN and not error.non_retryable
    assert error.next_retry_delay is not None and timedelta(seconds=50) < error.next_retry_delay <= timedelta(
        seconds=60
    )
    assert len(server.requests) == 2  # the third attempt never left the worker


async def test_half_open_trial_closes_the_circuit(server: StandinHttpServer) -> None:
    server.reply(Reply(500), path="/flaky")
    tuned = settings(breaker_failures=1, breaker_cooldown=timedelta(milliseconds=200))
    async with HttpActions(EnvSecretProvider({}), tuned) as actions:
        await failure(actions, {"url": f"{server.url}/flaky"})
        assert (await failure(actions, {"url": f"{server.url}/flaky"})).type == ERROR_CIRCUIT_OPEN
        await asyncio.sleep(0.3)
        assert (await run(actions, {"url": f"{server.url}/flaky"}))["status"] == 200
        assert (await run(actions, {"url": f"{server.url}/flaky"}))["status"] == 200


async def test_rate_limit_spaces_requests_then_refuses_long_waits(server: StandinHttpServer) -> None:
    tuned = settings(rate_limits={"127.0.0.1": 4.0}, rate_max_wait=timedelta(seconds=0.3))
    async with HttpActions(EnvSecretProvider({}), tuned) as actions:
        config = {"url": f"{server.url}/r"}
        # burst of 4, then one every 0.25s: the 5th waits 0.25s, the 6th would wait 0.5s > 0.3s
        began = time.monotonic()
        results = await asyncio.gather(*(run(actions, config) for _ in range(6)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert refused and all(r.type == ERROR_RATE_LIMITED and not r.non_retryable for r in refused)
    assert all(r.next_retry_delay is not None and r.next_retry_delay > timedelta(0) for r in refused)
    times = sorted(r.received_at for r in server.requests)
    assert len(times) == 6 - len(refused) >= 5
    # the 5th waited for its token (measured from the start: on a loaded machine the first
    # requests may arrive late themselves)
    assert times[4] - began >= 0.2


async def test_one_tenants_failures_do_not_open_another_tenants_circuit(server: StandinHttpServer) -> None:
    """Review M4: tenant A's failing calls open A's circuit for the host, never B's."""
    server.reply(Reply(500), Reply(502), path="/shared")
    config = {"url": f"{server.url}/shared"}
    tuned = settings(breaker_failures=2, breaker_cooldown=timedelta(seconds=60))
    async with HttpActions(EnvSecretProvider({}), tuned) as actions:
        for _ in range(2):
            assert (await failure(actions, config, tenant="acme")).type == ERROR_HTTP_STATUS
        assert (await failure(actions, config, tenant="acme")).type == ERROR_CIRCUIT_OPEN
        assert (await run(actions, config, tenant="globex"))["status"] == 200
    assert len(server.requests) == 3


async def test_a_step_timeout_below_the_floor_does_not_count_against_the_host(
    server: StandinHttpServer,
) -> None:
    """Review M4: a step that chooses a 10 ms timeout against a host answering in 0.3 s learns nothing
    about the host's health; five of them leave the circuit closed."""
    server.handle("/slow", lambda request: Reply(200, {"ok": True}, hold=0.3))
    tuned = settings(breaker_failures=2, breaker_cooldown=timedelta(seconds=60))
    async with HttpActions(EnvSecretProvider({}), tuned) as actions:
        for _ in range(5):
            error = await failure(actions, {"url": f"{server.url}/slow", "timeout": "PT0.01S"})
            assert error.type == ERROR_HTTP_TRANSPORT
        assert (await run(actions, {"url": f"{server.url}/slow", "timeout": "PT5S"}))["status"] == 200


async def test_a_compressed_answer_is_refused_within_its_bound(server: StandinHttpServer) -> None:
    """Review L4: 64 KiB of gzip that inflates to 64 MiB; the bound is 1 MiB and no more than that
    (plus one byte) is ever inflated."""
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    server.reply(Reply(200, bomb, headers), path="/bomb")
    limit = 1024 * 1024
    async with HttpActions(EnvSecretProvider({}), settings(max_response_bytes=limit)) as actions:
        error = await failure(actions, {"url": f"{server.url}/bomb"})
    assert error.type == ERROR_RESPONSE_TOO_LARGE and error.non_retryable
    seen = re.search(r"\((\d+)\+ seen\)", error.message)
    assert seen is not None and limit < int(seen.group(1)) <= limit + 1
