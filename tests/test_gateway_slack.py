"""Slack interactivity: signed button clicks answer a task once; forged or stale ones change nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from gateway import GatewaySettings
from gateway.routers.slack import slack_responder
from tests.gateway_support import (
    ACME,
    APPROVAL_SEGMENT,
    BIG_ORDER,
    Gateway,
    button_click,
    eventually,
    gateway_fixture,  # noqa: F401  (the `gateway` fixture)
    read_events,
    slack_request,
)


async def _waiting_run(gateway: Gateway) -> str:
    async with gateway.http(ACME) as http:
        run_id = str(
            (await http.post("/runs", json={"segment": APPROVAL_SEGMENT, "input": BIG_ORDER})).json()[
                "run_id"
            ]
        )
        assert await eventually(lambda: _open(gateway, run_id))
    return run_id


async def _open(gateway: Gateway, run_id: str) -> list[str]:
    async with gateway.http(ACME) as http:
        return [t["task_id"] for t in (await http.get(f"/runs/{run_id}/tasks")).json()["open_tasks"]]


async def _messages_for(gateway: Gateway, run_id: str) -> list[dict[str, Any]]:
    return [m for m in gateway.slack.messages if run_id in json.dumps(m)]


async def test_signed_click_approves_once_and_updates_the_message(gateway: Gateway) -> None:
    run_id = await _waiting_run(gateway)
    body, headers = slack_request(
        button_click(run_id, "approve", "approve", f"{gateway.slack_url}/actions/1")
    )
    async with gateway.http() as http:
        began = time.monotonic()
        first = await http.post("/slack/interactions", content=body, headers=headers)
        elapsed = time.monotonic() - began
        again = await http.post("/slack/interactions", content=body, headers=headers)
        assert first.status_code == 200 and again.status_code == 200
        assert elapsed < 3.0
        async with gateway.http(ACME) as api:
            done = await eventually(lambda: _result(api, run_id))
            assert done == {"placed": True, "total": 150}
        # After a gateway restart the replay is not in its memory: Temporal's closed task is the guard.
        gateway.app.state.slack_seen.clear()
        replay = await http.post("/slack/interactions", content=body, headers=headers)
        assert replay.status_code == 200
        async with gateway.http(ACME) as api:
            events = await read_events(api, run_id)
    answered = [e["data"] for e in events if e["event"] == "task.answered"]
    assert answered == [answered[0]] and answered[0]["responder"] == "alice"  # U123 -> alice
    messages = await eventually(lambda: _messages_for(gateway, run_id))
    assert len(messages) == 1
    assert messages[0]["replace_original"] is True and "approved by alice" in messages[0]["text"]


async def _result(api: Any, run_id: str) -> Any:
    response = await api.get(f"/runs/{run_id}/result")
    return response.json()["result"] if response.status_code == 200 else None


async def test_forged_stale_or_unsigned_clicks_are_refused(gateway: Gateway) -> None:
    run_id = await _waiting_run(gateway)
    click = button_click(run_id, "approve", "reject", f"{gateway.slack_url}/actions/2")
    body, headers = slack_request(click)
    tampered = body.replace(b"reject", b"approve")
    stale_body, stale = slack_request(click, timestamp=int(time.time()) - 6 * 60)
    wrong_secret = slack_request(click, secret="not-the-secret")
    async with gateway.http() as http:
        cases = [
            (tampered, headers),
            (stale_body, stale),
            wrong_secret,
            (body, {"Content-Type": headers["Content-Type"]}),
            (body, {k: v for k, v in headers.items() if k != "X-Slack-Signature"}),
        ]
        for content, case_headers in cases:
            response = await http.post("/slack/interactions", content=content, headers=case_headers)
            assert response.status_code == 401, response.text
    assert await _open(gateway, run_id) == ["approve"]
    assert await _messages_for(gateway, run_id) == []
    async with gateway.http(ACME) as api:
        await api.post(f"/runs/{run_id}/cancel")


async def test_refused_click_is_told_to_the_clicker_only(gateway: Gateway) -> None:
    run_id = await _waiting_run(gateway)
    click = button_click(run_id, "approve", "approve", f"{gateway.slack_url}/actions/3", user="U999")
    body, headers = slack_request(click)  # U999 is unmapped: it may not answer at all
    async with gateway.http() as http:
        assert (await http.post("/slack/interactions", content=body, headers=headers)).status_code == 200
    messages = await eventually(lambda: _messages_for(gateway, run_id))
    assert messages[0]["response_type"] == "ephemeral" and "not mapped" in messages[0]["text"]
    assert await _open(gateway, run_id) == ["approve"]
    async with gateway.http(ACME) as api:
        await api.post(f"/runs/{run_id}/cancel")


@pytest.mark.parametrize(
    "timestamp, signature",
    [
        ("1" * 5000, "v0=" + "0" * 64),  # int() refuses more than 4300 digits
        (b"170000000\xb2", "v0=" + "0" * 64),  # '²': isdigit() says yes, int() says no
        (None, b"v0=\xe9" + b"0" * 63),  # compare_digest refuses non-ASCII text
    ],
)
async def test_odd_signature_headers_are_refused_not_a_server_error(
    gateway: Gateway, timestamp: str | bytes | None, signature: str | bytes
) -> None:
    """Review L2: unauthenticated requests with odd headers got a 500."""
    body, signed = slack_request(button_click("any-run", "approve", "approve", "https://x/"))
    headers: dict[str, Any] = {
        **signed,
        "X-Slack-Request-Timestamp": timestamp or signed["X-Slack-Request-Timestamp"],
        "X-Slack-Signature": signature,
    }
    async with gateway.http() as http:
        answer = await http.post("/slack/interactions", content=body, headers=headers)
    assert answer.status_code == 401


async def test_a_slack_name_never_stands_in_for_the_mapped_user(gateway: Gateway) -> None:
    """Review M3: Slack user U999 picks the username (and display name) "alice"; alice is U123.
    The click is refused and the task stays open."""
    run_id = await _waiting_run(gateway)
    click = button_click(run_id, "approve", "approve", f"{gateway.slack_url}/actions/4", user="U999")
    click["user"] = {"id": "U999", "username": "alice", "name": "alice"}
    body, headers = slack_request(click)
    async with gateway.http() as http:
        assert (await http.post("/slack/interactions", content=body, headers=headers)).status_code == 200
    messages = await eventually(lambda: _messages_for(gateway, run_id))
    assert messages[0]["response_type"] == "ephemeral" and "not mapped" in messages[0]["text"]
    assert await _open(gateway, run_id) == ["approve"]
    async with gateway.http(ACME) as api:
        await api.post(f"/runs/{run_id}/cancel")


def test_without_a_mapping_the_responder_is_the_immutable_slack_id() -> None:
    unmapped = GatewaySettings()
    mapped = GatewaySettings(slack_users={"U123": "alice"})
    impostor = {"id": "U999", "username": "alice", "name": "alice"}
    assert slack_responder(impostor, unmapped) == "U999"
    assert slack_responder(impostor, mapped) is None
    assert slack_responder({"id": "U123", "username": "someone"}, mapped) == "alice"
    assert slack_responder({"username": "alice"}, unmapped) is None
