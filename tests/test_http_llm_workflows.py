"""`http_action` and `llm_agent` steps in real runs: a real dev server, a worker built from the
environment by `build_components`, and local stand-ins of the HTTP and model APIs.

Every test also checks the canary: the secret used for auth never appears in captured logs
(autouse `no_canary_in_logs`), and the tests that fetch a history search it for the canary in
plain text and in base64 (payloads are stored base64-encoded).
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from tests.conftest import start_segment
from tests.standins.anthropic_server import AnthropicStandin
from tests.standins.http_server import RecordedRequest, Reply, StandinHttpServer
from tests.standins.openai_server import OpenAIStandin
from worker import build_components, running_worker

CANARY = "canary-5e1f0b7d-do-not-leak-ERP"
LOGIN = f"erp-user:{CANARY}"
LOGGERS = (
    "activities",
    "workflows",
    "segments",
    "temporalio",
    "httpx",
    "httpx2",
    "httpcore",
    "openai",
    "anthropic",
)
FAST_RETRY = {"max_attempts": 3, "initial_interval": "PT0.2S"}
SLOW_RETRY = {"max_attempts": 3, "initial_interval": "PT5S"}
"""A retry that would take at least 5 s: a run failing sooner did not retry."""


def encoded_forms(text: str) -> list[str]:
    """`text` and its base64, at each of the three alignments it can have inside a longer payload."""
    forms = [text]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + text.encode()).decode()
        forms.append(encoded[(shift * 8 + 5) // 6 : -4])  # drop the characters mixed with neighbours
    return forms


SECRET_FORMS = [
    form
    for text in (CANARY, f"Bearer {CANARY}", base64.b64encode(LOGIN.encode()).decode())
    for form in encoded_forms(text)
]


def leaks(text: str) -> list[str]:
    return [form for form in SECRET_FORMS if form in text]


async def history_json(handle: WorkflowHandle[Any, Any]) -> str:
    return (await handle.fetch_history()).to_json()


async def activity_attempts(handle: WorkflowHandle[Any, Any]) -> list[int]:
    """The attempt count of each activity (Temporal records the last attempt's start only)."""
    history = await handle.fetch_history()
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]


async def failure_of(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


def http_step(step_id: str, method: str, url: str, **config: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {k: config.pop(k) for k in ("retry", "on_error") if k in config}
    return {
        "step_id": step_id,
        "type": "http_action",
        "config": {"method": method, "url": url, **config},
        **extra,
    }


def transform(step_id: str, expression: str) -> dict[str, Any]:
    return {"step_id": step_id, "type": "transform", "config": {"expression": expression}}


def condition(step_id: str, expression: str) -> dict[str, Any]:
    return {"step_id": step_id, "type": "condition", "config": {"expression": expression}}


def edge(source: str, target: str, port: str = "out") -> dict[str, str]:
    return {"source": source, "target": target, "source_port": port}


def segment(steps: list[dict[str, Any]], edges: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"segment_id": "io", "steps": steps, "edges": edges or []}


@pytest.fixture(scope="module")
def server() -> Iterator[StandinHttpServer]:
    with StandinHttpServer() as running:
        yield running


@pytest.fixture(scope="module")
def openai_api() -> Iterator[OpenAIStandin]:
    with OpenAIStandin() as api:
        yield api


@pytest.fixture(scope="module")
def anthropic_api() -> Iterator[AnthropicStandin]:
    with AnthropicStandin() as api:
        yield api


@pytest.fixture(scope="module")
async def queue(
    client: Client, server: StandinHttpServer, openai_api: OpenAIStandin, anthropic_api: AnthropicStandin
) -> AsyncIterator[str]:
    """A worker whose settings all come from the environment, as `python worker.py` builds it."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SEGMENTS_HTTP_ALLOW", server.origin)  # this stand-in's port only
        env.setenv("SEGMENTS_ENV_ERP_URL", server.url)
        env.setenv("SEGMENTS_SECRET_ERP_TOKEN", CANARY)
        env.setenv("SEGMENTS_SECRET_ERP_TOKEN_HOSTS", server.origin)
        env.setenv("SEGMENTS_SECRET_ERP_LOGIN", LOGIN)
        env.setenv("SEGMENTS_SECRET_ERP_LOGIN_HOSTS", server.origin)
        env.setenv("OPENAI_BASE_URL", openai_api.base_url)
        env.setenv("OPENAI_API_KEY", "sk-test-openai")
        env.setenv("ANTHROPIC_BASE_URL", anthropic_api.base_url)
        env.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        components = build_components(plugins=[])
        task_queue = f"http-llm-{uuid.uuid4().hex[:6]}"
        async with running_worker(client, task_queue, components):  # $env is read once per run
            yield task_queue


@pytest.fixture(autouse=True)
def no_canary_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    yield
    assert not leaks(caplog.text)
    assert not leaks(" ".join(str(r.__dict__) for r in caplog.records))


def echo_auth(status: int, body: dict[str, Any]) -> Any:
    """A handler answering `status` with `body` plus the Authorization header it received."""

    def answer(request: RecordedRequest) -> Reply:
        return Reply(status, {**body, "you_sent": request.headers.get("authorization")})

    return answer


async def test_post_with_a_bearer_secret_feeds_a_later_condition(
    client: Client, queue: str, server: StandinHttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    place = http_step(
        "place",
        "POST",
        "{% $env.ERP_URL %}/t1/orders",
        body={
            "order_id": "{% input.order.id %}",
            "total": "{% $sum(input.order.items.(qty * price)) %}",
            "note": "order {% input.order.id %} for {% run.tenant_id %}",
        },
        auth={"type": "bearer", "secret": "ERP_TOKEN"},
    )
    definition = segment(
        [
            place,
            condition(
                "accepted", "steps.place.output.status = 201 and steps.place.output.body.state = 'accepted'"
            ),
            transform("confirm", "'confirmed ' & steps.place.output.body.order_id"),
            transform("hold", "'on hold: ' & steps.place.output.body.state"),
        ],
        [edge("place", "accepted"), edge("accepted", "confirm", "true"), edge("accepted", "hold", "false")],
    )
    order = {"order": {"id": "ORD-marker-7731", "items": [{"qty": 2, "price": 10}, {"qty": 1, "price": 5}]}}

    server.handle("/t1/orders", echo_auth(201, {"order_id": "PO-1", "state": "accepted"}))
    handle = await start_segment(client, queue, definition, order, tenant_id="acme")
    assert await handle.result() == {"confirm": "confirmed PO-1"}
    sent = server.requests_to("/t1/orders")[-1]
    assert sent.json() == {
        "order_id": "ORD-marker-7731",
        "total": 25,
        "note": "order ORD-marker-7731 for acme",
    }
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    history = await history_json(handle)
    assert any(form in history for form in encoded_forms("ORD-marker-7731")[1:]), "the search sees payloads"
    assert not leaks(history)  # the server echoed the token in its answer, which is in the history
    assert "answered HTTP 201" in caplog.text  # the worker's logs were captured

    server.handle("/t1/orders", echo_auth(201, {"order_id": "PO-2", "state": "review"}))
    handle = await start_segment(client, queue, definition, order, tenant_id="acme")
    assert await handle.result() == {"hold": "on hold: review"}


async def test_500_then_success_is_retried_by_temporal_with_one_idempotency_key(
    client: Client, queue: str, server: StandinHttpServer
) -> None:
    server.reply(Reply(500, "busy"), Reply(200, {"ok": True}), path="/t2/orders")
    step = http_step("place", "POST", f"{server.url}/t2/orders", body={"n": 1}, retry=FAST_RETRY)
    handle = await start_segment(client, queue, segment([step]))
    result = await handle.result()
    assert result["place"]["status"] == 200 and result["place"]["body"] == {"ok": True}
    keys = [r.headers.get("idempotency-key") for r in server.requests_to("/t2/orders")]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert await activity_attempts(handle) == [2]


async def test_404_fails_the_run_at_once_naming_step_and_status(
    client: Client, queue: str, server: StandinHttpServer
) -> None:
    server.reply(Reply(404, {"error": "no such customer"}), path="/t3/customers/9")
    step = http_step("lookup", "GET", f"{server.url}/t3/customers/9", retry=SLOW_RETRY)
    started = time.monotonic()
    handle = await start_segment(client, queue, segment([step]))
    error = await failure_of(handle)
    assert time.monotonic() - started < 5
    assert error.non_retryable and error.type == "StepFailed"
    assert error.message.startswith("step 'lookup' (http_action) failed:")
    assert "answered HTTP 404" in error.message and "no such customer" in error.message
    assert error.details[0]["error_type"] == "HttpStatusError"
    assert len(server.requests_to("/t3/customers/9")) == 1
    assert await activity_attempts(handle) == [1]


async def test_404_with_on_error_route_goes_out_on_the_error_port(
    client: Client, queue: str, server: StandinHttpServer
) -> None:
    server.reply(Reply(404, {"error": "no such customer"}), path="/t4/customers/9")
    step = http_step("lookup", "GET", f"{server.url}/t4/customers/9", retry=SLOW_RETRY, on_error="route")
    definition = segment(
        [step, transform("found", "'found'"), transform("missing", "steps.lookup.output.error")],
        [edge("lookup", "found"), edge("lookup", "missing", "error")],
    )
    result = await (await start_segment(client, queue, definition)).result()
    assert list(result) == ["missing"]
    assert result["missing"]["step_id"] == "lookup" and result["missing"]["type"] == "HttpStatusError"
    assert "answered HTTP 404" in result["missing"]["message"]
    assert result["missing"]["status"] == 404
    assert "no such customer" in result["missing"]["body"]


async def test_a_failing_run_does_not_reveal_the_secret(
    client: Client, queue: str, server: StandinHttpServer
) -> None:
    """The server echoes the Basic credentials in its 401: neither the error nor the history shows them."""
    server.handle("/t5/orders", echo_auth(401, {"error": "bad credentials"}))
    step = http_step(
        "place",
        "POST",
        f"{server.url}/t5/orders",
        body={"n": 1},
        auth={"type": "basic", "secret": "ERP_LOGIN"},
    )
    handle = await start_segment(client, queue, segment([step]))
    error = await failure_of(handle)
    assert "answered HTTP 401" in error.message and "bad credentials" in error.message
    assert server.requests_to("/t5/orders")[0].headers["authorization"].startswith("Basic ")
    assert not leaks(error.message) and not leaks(str(error.details))
    assert not leaks(await history_json(handle))


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.1"])
async def test_the_egress_guard_refuses_internal_hosts_in_a_run(
    client: Client, queue: str, host: str
) -> None:
    step = http_step("steal", "GET", f"http://{host}/latest/meta-data/", retry=SLOW_RETRY)
    started = time.monotonic()
    handle = await start_segment(client, queue, segment([step]))
    error = await failure_of(handle)
    assert time.monotonic() - started < 5
    assert error.non_retryable and error.message.startswith("step 'steal' (http_action) failed:")
    assert f"egress to {host} port 80 refused" in error.message and "SEGMENTS_HTTP_ALLOW" in error.message
    assert error.details[0]["error_type"] == "EgressDenied"
    assert await activity_attempts(handle) == [1]


VERDICT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["approve", "reason"],
    "properties": {"approve": {"type": "boolean"}, "reason": {"type": "string"}},
}


def llm_step(provider: str, **extra: Any) -> dict[str, Any]:
    config = {
        "provider": provider,
        "model": "test-model",
        "prompt": "Should we refund order {% input.order_id %}?",
        "response_schema": VERDICT_SCHEMA,
    }
    return {"step_id": "judge", "type": "llm_agent", "config": config, **extra}


def verdict_segment(provider: str, **extra: Any) -> dict[str, Any]:
    return segment(
        [
            llm_step(provider, **extra),
            condition("approved", "steps.judge.output.json.approve"),
            transform("refund", "'refund: ' & steps.judge.output.json.reason"),
            transform("keep", "'keep: ' & steps.judge.output.json.reason"),
        ],
        [edge("judge", "approved"), edge("approved", "refund", "true"), edge("approved", "keep", "false")],
    )


@pytest.mark.parametrize(
    ("provider", "approve", "expected"), [("openai", True, "refund"), ("anthropic", False, "keep")]
)
async def test_llm_structured_output_feeds_a_condition(
    client: Client,
    queue: str,
    openai_api: OpenAIStandin,
    anthropic_api: AnthropicStandin,
    provider: str,
    approve: bool,
    expected: str,
) -> None:
    verdict = {"approve": approve, "reason": "damaged in transit"}
    if provider == "openai":
        openai_api.reply_json(verdict)
    else:
        anthropic_api.reply_tool(verdict)
    handle = await start_segment(client, queue, verdict_segment(provider), {"order_id": "A-7"})
    assert await handle.result() == {expected: f"{expected}: damaged in transit"}
    if provider == "openai":
        sent = openai_api.requests[-1].json()
        assert sent["response_format"]["json_schema"]["schema"] == VERDICT_SCHEMA
    else:
        sent = anthropic_api.requests[-1].json()
        assert sent["tools"][0]["input_schema"] == VERDICT_SCHEMA
    assert sent["messages"][-1]["content"] == "Should we refund order A-7?"


async def test_llm_429_then_success_is_retried_by_temporal(
    client: Client, queue: str, openai_api: OpenAIStandin
) -> None:
    before = len(openai_api.requests)
    openai_api.fail(429, "slow down", type="rate_limit_error", headers={"retry-after-ms": "100"})
    openai_api.reply_json({"approve": True, "reason": "ok"})
    handle = await start_segment(
        client, queue, verdict_segment("openai", retry=SLOW_RETRY), {"order_id": "A-8"}
    )
    started = time.monotonic()
    assert await handle.result() == {"refund": "refund: ok"}
    assert time.monotonic() - started < 5, "the server's Retry-After, not the 5 s policy, set the delay"
    assert len(openai_api.requests) - before == 2
    assert await activity_attempts(handle) == [2]
