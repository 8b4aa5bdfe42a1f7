"""The order example through the gateway, against the local ERP stand-in: approved over HTTP and
by a Slack-signed click, with the SSE stream showing every step in order."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from client.api import SegmentsClient
from examples.standins import Standins, serve_standins
from gateway import GatewaySettings, create_app
from tests.gateway_support import (
    ACME,
    ACT_FOR,
    TOKENS,
    SlackReceiver,
    button_click,
    eventually,
    read_events,
    serving,
    slack_request,
)
from tests.gateway_support import SLACK_SECRET as SECRET
from worker import build_components, running_worker

ROOT = Path(__file__).parent.parent
ORDER = json.loads((ROOT / "examples" / "order_processing.json").read_text())
ORDER_INPUT = json.loads((ROOT / "examples" / "order_processing.input.json").read_text())


@pytest.fixture
async def order_gateway(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, Standins]]:
    async with serve_standins(openai_port=0, api_port=0) as standins:
        for key, value in standins.env().items():
            monkeypatch.setenv(key, value)
        queue = f"gw-orders-{uuid.uuid4().hex[:6]}"
        slack = SlackReceiver()
        async with (
            running_worker(client, queue, build_components(plugins=[])),
            serving(slack.app) as slack_url,
        ):
            settings = GatewaySettings(
                tokens=TOKENS,
                act_for=ACT_FOR,
                slack_signing_secret=SECRET,
                slack_users={"UBEN": "finance-ben"},
                slack_response_url_prefixes=(f"{slack_url}/actions/",),
            )
            async with serving(create_app(settings, SegmentsClient(client, queue))) as url:
                yield url, standins


def _step_order(events: list[dict[str, Any]]) -> list[str]:
    return [
        f"{e['event']}:{e['data'].get('step_id') or e['data'].get('task_id')}"
        for e in events
        if e["event"] in ("step.completed", "task.opened", "task.answered")
    ]


@pytest.mark.parametrize("channel", ["http", "slack"])
async def test_order_approved_through_the_gateway(order_gateway: tuple[str, Standins], channel: str) -> None:
    url, standins = order_gateway
    async with httpx.AsyncClient(base_url=url, headers=ACME, timeout=30) as http:
        started = await http.post("/runs", json={"segment": ORDER, "input": ORDER_INPUT})
        assert started.status_code == 201, started.text
        run_id = started.json()["run_id"]
        stream = asyncio.create_task(read_events(http, run_id))
        assert await eventually(lambda: _open(http, run_id), timeout=30) == ["approve"]
        if channel == "http":
            answer = {"responder": "finance-anna", "decision": "approve"}
            assert (await http.post(f"/runs/{run_id}/tasks/approve", json=answer)).status_code == 200
        else:
            body, headers = slack_request(button_click(run_id, "approve", "approve", f"{url}/x", user="UBEN"))
            async with httpx.AsyncClient(base_url=url, timeout=30) as anonymous:
                assert (
                    await anonymous.post("/slack/interactions", content=body, headers=headers)
                ).status_code == 200
        events = await asyncio.wait_for(stream, 60)
    order = _step_order(events)
    expected = [
        "step.completed:validate",
        "step.completed:inventory",
        "step.completed:big_order",
        "task.opened:approve",
        "task.answered:approve",
        "step.completed:approve",
        "step.completed:place",
    ]
    assert [x for x in order if x in expected] == expected
    assert events[-1]["event"] == "run.finished" and events[-1]["data"]["phase"] == "completed"
    responder = "finance-anna" if channel == "http" else "finance-ben"
    assert next(e for e in events if e["event"] == "task.answered")["data"]["responder"] == responder
    assert len(standins.api.orders.records) == 1


async def _open(http: Any, run_id: str) -> list[str]:
    return [t["task_id"] for t in (await http.get(f"/runs/{run_id}/tasks")).json()["open_tasks"]]
