"""Human-task timers on the time-skipping test server: timeouts, escalation, SLA warnings, and
the notifications they send to local Slack, SMTP and webhook receivers."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.conftest import start_segment
from tests.notify_standins import SlackStandIn, SmtpStandIn, WebhookReceiver
from tests.temporal_binaries import find_binary
from worker import build_components, running_worker
from workflows.search_attributes import ALL_KEYS

TOKEN = "xoxb-test-token"


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[WebhookReceiver, SlackStandIn, SmtpStandIn]]:
    with WebhookReceiver() as hook, SlackStandIn(TOKEN) as slack, SmtpStandIn() as smtp:
        yield hook, slack, smtp


@pytest.fixture(scope="module")
async def skipping(
    receivers: tuple[WebhookReceiver, SlackStandIn, SmtpStandIn],
) -> AsyncIterator[tuple[Client, str]]:
    _, slack, smtp = receivers
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server")
    )
    try:  # the test server knows no custom search attributes until they are registered
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for k in ALL_KEYS},
            )
        )
        with pytest.MonkeyPatch.context() as patch:  # the secret is read when a notification goes out
            patch.setenv("SEGMENTS_SLACK_BASE_URL", slack.base_url)
            patch.setenv("SEGMENTS_SLACK_BOT_TOKEN", TOKEN)
            patch.setenv("SEGMENTS_SMTP_HOST", "127.0.0.1")
            patch.setenv("SEGMENTS_SMTP_PORT", str(smtp.port))
            patch.setenv("SEGMENTS_HTTP_ALLOW", "127.0.0.1")  # the webhook receiver, through the egress guard
            async with running_worker(env.client, "timers", build_components()):
                yield env.client, "timers"
    finally:
        await env.shutdown()


def segment(config: dict[str, Any]) -> dict[str, Any]:
    ports = {"approval": ["approved", "rejected", "timeout"]}.get(config["kind"], ["out", "timeout"])
    steps: list[dict[str, Any]] = [{"step_id": "approve", "type": "human_task", "config": config}]
    edges = []
    for port in ports:
        steps.append({"step_id": f"on_{port}", "type": "transform", "config": {"expression": f"'{port}'"}})
        edges.append({"source": "approve", "source_port": port, "target": f"on_{port}"})
    return {"segment_id": "timers", "steps": steps, "edges": edges}


def hook_events(hook: WebhookReceiver, run_id: str) -> list[tuple[str, int]]:
    bodies = [r.json() for r in hook.requests]
    return [(b["event"], b["level"]) for b in bodies if b["run_id"] == run_id]


async def test_a_24_hour_timeout_takes_the_timeout_port(skipping: tuple[Client, str]) -> None:
    client, queue = skipping
    handle = await start_segment(client, queue, segment({"kind": "approval", "title": "T", "assignee": "a"}))
    result = await handle.result()
    assert result == {"on_timeout": "timeout"}
    status = await handle.query("status")
    assert status["closed_tasks"][0]["status"] == "timed_out"
    history = await handle.fetch_history()
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    assert timers[0].timer_started_event_attributes.start_to_fire_timeout.ToSeconds() == 24 * 3600


async def test_two_level_escalation_notifies_each_level_once(
    skipping: tuple[Client, str], receivers: tuple[WebhookReceiver, SlackStandIn, SmtpStandIn]
) -> None:
    client, queue = skipping
    hook = receivers[0]
    config = {
        "kind": "approval",
        "title": "Escalate me",
        "assignee": "ann",
        "timeout": "PT2H",
        "escalation": ["bob", ["carol", "dave"]],
        "notify": [{"channel": "webhook", "url": hook.url}],
    }
    run_id = f"esc-{uuid.uuid4().hex[:8]}"
    handle = await start_segment(client, queue, segment(config), workflow_id=run_id)
    assert await handle.result() == {"on_timeout": "timeout"}
    assert hook_events(hook, run_id) == [("opened", 0), ("escalated", 1), ("escalated", 2), ("timed_out", 2)]
    escalated = [r.json() for r in hook.requests if r.json()["run_id"] == run_id][1:3]
    assert [e["assignee"] for e in escalated] == ["bob", None]
    assert escalated[1]["assignee_group"] == "carol, dave"
    assert "segments approve" in escalated[0]["answer_hint"] and "--as bob" in escalated[0]["answer_hint"]


async def test_sla_warning_fires_before_the_timeout_on_slack_and_email(
    skipping: tuple[Client, str], receivers: tuple[WebhookReceiver, SlackStandIn, SmtpStandIn]
) -> None:
    client, queue = skipping
    hook, slack, smtp = receivers
    config = {
        "kind": "approval",
        "title": "Approve order 42",
        "assignee": "fin",
        "timeout": "PT4H",
        "sla_warning": "PT1H",
        "on_timeout": "reject",
        "notify": [
            {"channel": "webhook", "url": hook.url},
            {"channel": "slack", "to": "#finance", "events": ["opened"]},
            {"channel": "email", "to": "fin@example.com", "events": ["sla_warning"]},
        ],
    }
    run_id = f"sla-{uuid.uuid4().hex[:8]}"
    handle = await start_segment(client, queue, segment(config), workflow_id=run_id)
    assert await handle.result() == {"on_rejected": "rejected"}
    assert hook_events(hook, run_id) == [("opened", 0), ("sla_warning", 0), ("timed_out", 0)]
    posts = [c for c in slack.calls if c.method == "chat.postMessage" and run_id in json.dumps(c.args)]
    assert len(posts) == 1
    blocks = posts[0].args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    values = [json.loads(e["value"]) for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert {"run_id": run_id, "task_id": "approve", "decision": "approve"} in values
    mails = [m for m in smtp.messages if run_id in m.message.as_string()]
    assert len(mails) == 1 and mails[0].rcpt_tos == ["fin@example.com"]


async def test_each_escalation_level_gets_its_sla_warning_and_reminders(
    skipping: tuple[Client, str], receivers: tuple[WebhookReceiver, SlackStandIn, SmtpStandIn]
) -> None:
    client, queue = skipping
    hook = receivers[0]
    config = {
        "kind": "approval",
        "title": "Remind me",
        "assignee": "ann",
        "timeout": "PT4H",
        "sla_warning": "PT3H",
        "remind_every": "PT2H",
        "escalation": ["bob"],
        "notify": [{"channel": "webhook", "url": hook.url}],
    }
    run_id = f"remind-{uuid.uuid4().hex[:8]}"
    handle = await start_segment(client, queue, segment(config), workflow_id=run_id)
    assert await handle.result() == {"on_timeout": "timeout"}
    level = [("reminder", 0), ("sla_warning", 0)]  # 2h and 3h into each 4h level
    bob = [("escalated", 1), ("reminder", 1), ("sla_warning", 1)]
    assert hook_events(hook, run_id) == [("opened", 0), *level, *bob, ("timed_out", 1)]
    summaries = []
    for event in (await handle.fetch_history()).events:
        if event.HasField("timer_started_event_attributes"):
            summary = event.user_metadata.summary
            summaries.append(client.data_converter.payload_converter.from_payload(summary, str))
    first, second = summaries[:3], summaries[3:]
    assert first == ["approve · reminder 1", "approve · SLA warning", "approve · timeout 4h"]
    assert second == ["approve · reminder 1", "approve · SLA warning", "approve · timeout 4h (level 1)"]
