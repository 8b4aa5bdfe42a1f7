"""The gateway's operator routes against a real server and worker: redrive, schedules (each limited
to the token's tenant), and Slack messages replaced with `chat.update` through the bot token."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from client.api import SegmentsClient
from gateway import GatewaySettings, create_app
from tests.gateway_support import (
    ACME,
    APPROVAL_SEGMENT,
    BIG_ORDER,
    GLOBEX,
    SLACK_SECRET,
    SLACK_USERS,
    TOKENS,
    button_click,
    eventually,
    serving,
    slack_request,
)
from tests.notify_standins import SlackStandIn
from tests.standins.http_server import Reply, StandinHttpServer
from worker import build_components, running_worker

BOT_TOKEN = "xoxb-gateway-test"


@dataclass
class Served:
    url: str
    slack: SlackStandIn
    client: Client

    def http(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=headers or {}, timeout=30)


@pytest.fixture
async def served(client: Client, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    monkeypatch.setenv("SEGMENTS_HTTP_ALLOW", "127.0.0.1")
    queue = f"gw-ops-{uuid.uuid4().hex[:6]}"
    with SlackStandIn(BOT_TOKEN) as slack:
        settings = GatewaySettings(
            tokens=TOKENS,
            slack_signing_secret=SLACK_SECRET,
            slack_users=SLACK_USERS,
            slack_response_url_prefixes=("http://127.0.0.1:9/",),
            slack_bot_token=BOT_TOKEN,
            slack_api_url=slack.base_url,
        )
        app = create_app(settings, SegmentsClient(client, queue))
        async with running_worker(client, queue, build_components(plugins=[])), serving(app) as url:
            yield Served(url, slack, client)


async def _result(http: httpx.AsyncClient, run_id: str) -> Any:
    response = await http.get(f"/runs/{run_id}/result")
    return response if response.status_code in (200, 409) else None


async def test_a_failed_run_is_redriven_through_the_gateway_by_its_tenant_only(served: Served) -> None:
    with StandinHttpServer() as erp:
        erp.reply(Reply(503), Reply(201, {"order_id": "PO-1"}), path="/orders")
        segment = {
            "segment_id": "gw_redrive",
            "steps": [
                {"step_id": "prepare", "type": "transform", "config": {"expression": "{'id': 'A-1'}"}},
                {
                    "step_id": "place",
                    "type": "http_action",
                    "retry": {"max_attempts": 1},
                    "config": {
                        "method": "POST",
                        "url": erp.url + "/orders",
                        "body": "{% steps.prepare.output %}",
                    },
                },
            ],
            "edges": [{"source": "prepare", "target": "place"}],
            "output": "{% steps.place.output.body %}",
        }
        async with served.http(ACME) as http, served.http(GLOBEX) as other:
            run_id = (await http.post("/runs", json={"segment": segment})).json()["run_id"]
            failed = await eventually(lambda: _result(http, run_id), timeout=60)
            assert failed is not None and failed.status_code == 409

            assert (await other.post(f"/runs/{run_id}/redrive")).status_code == 404
            redriven = await http.post(f"/runs/{run_id}/redrive")
            assert redriven.status_code == 200, redriven.text
            assert redriven.json()["failed_step"] == "place"
            done = await eventually(lambda: _result(http, run_id), timeout=60)
            assert done is not None and done.status_code == 200, done.text
            assert done.json()["result"] == {"order_id": "PO-1"}
            again = await http.post(f"/runs/{run_id}/redrive")
            assert again.status_code == 409 and "only a failed run" in again.json()["detail"]
        assert [r.path for r in erp.requests] == ["/orders", "/orders"]


async def test_schedules_over_http_belong_to_the_tokens_tenant(served: Served) -> None:
    schedule_id = f"gw-sched-{uuid.uuid4().hex[:6]}"
    body = {"schedule_id": schedule_id, "segment": APPROVAL_SEGMENT, "input": {"items": []}, "every": "PT1H"}
    async with served.http(ACME) as http, served.http(GLOBEX) as other:
        both = await http.post("/schedules", json={**body, "cron": "0 9 * * *"})
        assert both.status_code == 422
        created = await http.post("/schedules", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["tenant_id"] == "acme" and created.json()["every"] == ["PT1H"]
        assert (await http.post("/schedules", json=body)).status_code == 409

        async def listed() -> list[str]:
            return [s["schedule_id"] for s in (await http.get("/schedules")).json()["schedules"]]

        assert schedule_id in await eventually(listed, timeout=30)
        assert schedule_id not in [
            s["schedule_id"] for s in (await other.get("/schedules")).json()["schedules"]
        ]
        for path in ("", "/pause", "/trigger"):
            method = other.get if path == "" else other.post
            assert (await method(f"/schedules/{schedule_id}{path}")).status_code == 404
        assert (await other.delete(f"/schedules/{schedule_id}")).status_code == 404

        assert (await http.post(f"/schedules/{schedule_id}/pause", json={"note": "quiet"})).status_code == 204
        paused = (await http.get(f"/schedules/{schedule_id}")).json()
        assert paused["paused"] is True and paused["note"] == "quiet"
        assert (await http.post(f"/schedules/{schedule_id}/unpause")).status_code == 204
        assert (await http.post(f"/schedules/{schedule_id}/trigger")).status_code == 204

        async def started() -> list[Any]:
            return [
                r
                async for r in served.client.list_workflows("SegmentId = 'gw_approval' AND TenantId = 'acme'")
                if r.id.startswith(schedule_id)
            ]

        assert await eventually(started, timeout=30)
        assert (await http.delete(f"/schedules/{schedule_id}")).status_code == 204
        assert (await http.get(f"/schedules/{schedule_id}")).status_code == 404


async def test_an_answered_slack_message_is_replaced_with_chat_update(served: Served) -> None:
    async with served.http(ACME) as http:
        run_id = (await http.post("/runs", json={"segment": APPROVAL_SEGMENT, "input": BIG_ORDER})).json()[
            "run_id"
        ]

        async def task_open() -> bool:
            return bool((await http.get(f"/runs/{run_id}/tasks")).json()["open_tasks"])

        assert await eventually(task_open, timeout=30)
    click = button_click(run_id, "approve", "approve", "http://127.0.0.1:9/actions/1")
    click["channel"] = {"id": "C0FINANCE"}
    click["message"] = {"ts": "1700000000.000042"}
    body, headers = slack_request(click)
    async with served.http() as http:
        assert (await http.post("/slack/interactions", content=body, headers=headers)).status_code == 200

    async def updated() -> list[Any]:
        return [c for c in served.slack.calls if c.method == "chat.update"]

    calls = await eventually(updated, timeout=30)
    assert len(calls) == 1
    call = calls[0]
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert call.args["channel"] == "C0FINANCE" and call.args["ts"] == "1700000000.000042"
    assert "approved by alice" in call.args["text"] and run_id in json.dumps(call.args)
