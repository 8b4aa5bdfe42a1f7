"""Fixtures for the gateway tests: the real app on a real uvicorn (127.0.0.1, ephemeral port),
against the session's Temporal dev server and worker; a local Slack `response_url` receiver."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp
from temporalio.client import Client

from client.api import SegmentsClient
from gateway import GatewaySettings, create_app
from gateway.slack_signature import sign

TOKENS = {
    "tok-acme": "acme",  # an unnamed service of acme, allowed to answer for anyone (ACT_FOR)
    "tok-globex": "globex",
    "tok-anna": "acme/finance-anna",  # a user: answers only as finance-anna
    "tok-canvas": "acme/service:canvas",  # a service allowed to answer only for alice
}
ACT_FOR = {"acme": frozenset({"*"}), "acme/service:canvas": frozenset({"alice"})}
ACME = {"Authorization": "Bearer tok-acme"}
GLOBEX = {"Authorization": "Bearer tok-globex"}
SLACK_SECRET = "slack-signing-secret-for-tests"
SLACK_USERS = {"U123": "alice"}

APPROVAL_SEGMENT: dict[str, Any] = {
    "segment_id": "gw_approval",
    "version": "1.0.0",
    "steps": [
        {
            "step_id": "total",
            "type": "transform",
            "name": "Total",
            "config": {"expression": "{'total': $sum(input.items.(qty * price))}"},
        },
        {"step_id": "big", "type": "condition", "config": {"expression": "steps.total.output.total > 100"}},
        {
            "step_id": "approve",
            "type": "human_task",
            "config": {"kind": "approval", "title": "Approve", "assignee": "alice", "timeout": "PT1H"},
        },
        {
            "step_id": "place",
            "type": "transform",
            "name": "Place",
            "config": {"expression": "{'placed': true, 'total': steps.total.output.total}"},
        },
    ],
    "edges": [
        {"source": "total", "target": "big"},
        {"source": "big", "source_port": "true", "target": "approve"},
        {"source": "big", "source_port": "false", "target": "place"},
        {"source": "approve", "source_port": "approved", "target": "place"},
    ],
    "output": "{% steps.place.output %}",
}
BIG_ORDER = {"items": [{"qty": 3, "price": 50}]}
SMALL_ORDER = {"items": [{"qty": 1, "price": 5}]}


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """Serves `app` with uvicorn as a task of this event loop; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class SlackReceiver:
    """Stands in for Slack's `response_url`: records each message posted to it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/actions/{rest:path}", self._post, methods=["POST"])])

    async def _post(self, request: Request) -> JSONResponse:
        self.messages.append(await request.json())
        return JSONResponse({"ok": True})


class Gateway:
    def __init__(
        self, url: str, app: Any, slack: SlackReceiver, slack_url: str, segments: SegmentsClient
    ) -> None:
        self.url = url
        self.app = app
        self.slack = slack
        self.slack_url = slack_url
        self.segments = segments

    def http(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=headers or {}, timeout=30)


@pytest.fixture(scope="session", name="gateway")
async def gateway_fixture(
    client: Client, worker: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    definitions = tmp_path_factory.mktemp("definitions")
    stored = definitions / "gw_approval" / "1.0.0.json"
    stored.parent.mkdir()
    stored.write_text(json.dumps(APPROVAL_SEGMENT))
    slack = SlackReceiver()
    async with serving(slack.app) as slack_url:
        settings = GatewaySettings(
            tokens=TOKENS,
            act_for=ACT_FOR,
            definitions_dir=Path(definitions),
            slack_signing_secret=SLACK_SECRET,
            slack_users=SLACK_USERS,
            slack_response_url_prefixes=(f"{slack_url}/actions/",),
            max_body_bytes=200_000,
            cors_origins=("https://canvas.example",),
            sse_ping_seconds=5,
        )
        segments = SegmentsClient(client, worker)
        app = create_app(settings, segments)
        async with serving(app) as url:
            yield Gateway(url, app, slack, slack_url, segments)


def slack_request(
    payload: dict[str, Any], *, secret: str = SLACK_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A form-encoded interaction as Slack sends it, signed with `secret`."""
    body = httpx.QueryParams({"payload": json.dumps(payload)}).__str__().encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(secret, ts, body),
    }


def button_click(
    run_id: str, task_id: str, decision: str, response_url: str, user: str = "U123"
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "slack-" + user.lower()},
        "response_url": response_url,
        "actions": [
            {
                "action_id": f"segments_{decision}",
                "value": json.dumps({"run_id": run_id, "task_id": task_id, "decision": decision}),
                "action_ts": str(time.time()),
            }
        ],
    }


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    """The first truthy value of `check()`, polling until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


async def read_events(
    http: httpx.AsyncClient, run_id: str, headers: dict[str, str] | None = None, until: str = "run.finished"
) -> list[dict[str, Any]]:
    """Reads the SSE stream until an event of type `until` (or the stream's end)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async with http.stream("GET", f"/runs/{run_id}/events", headers=headers or {}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith(":"):
                continue
            if not line:
                if "event" in current:
                    events.append(current)
                    if current["event"] == until:
                        return events
                current = {}
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            current[field] = json.loads(value) if field == "data" else value
    return events
