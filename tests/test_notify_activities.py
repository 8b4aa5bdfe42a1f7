"""The `notify` activity against real local receivers: Slack Web API stand-in, SMTP, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import ERROR_EGRESS_DENIED, ERROR_SECRET_MISSING
from activities.egress import AllowList, EgressGuard
from activities.notify.activity import NotifyActivities
from activities.notify.contracts import ERROR_SLACK_API, ERROR_SMTP, ChoiceOption, NotificationRequest
from activities.notify.settings import NotifySettings
from activities.secrets import EnvSecretProvider
from segments.step_configs.notify import parse_notify

try:
    from tests.notify_standins import SlackStandIn, SmtpStandIn, WebhookReceiver
except ImportError:  # `tests` is not a package: pytest put tests/ itself on sys.path
    from notify_standins import SlackStandIn, SmtpStandIn, WebhookReceiver  # type: ignore[no-redef]

pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")

BOT_TOKEN = "xoxb-CANARY-bot-token-7f3a"
SMTP_PASSWORD = "CANARY-smtp-password-91be"
TEAMS_PATH_TOKEN = "CANARY-teams-sig-55d0"
HOOK_KEY = "CANARY-hook-hmac-key-2c1e"
CANARIES = (BOT_TOKEN, SMTP_PASSWORD, TEAMS_PATH_TOKEN, HOOK_KEY)

HINT = "segments approve order-42 approve --as alice\nsegments reject order-42 approve --as alice"


def request(channel: Any, target: Any, **overrides: Any) -> NotificationRequest:
    base = NotificationRequest(
        channel=channel,
        event="opened",
        run_id="order-42",
        task_id="approve",
        title="Approve order 42",
        description="Total is 1,250.00 EUR <over limit>",
        kind="approval",
        assignee="alice",
        assignee_group="finance",
        priority="high",
        deadline="2030-01-01T12:00:00Z",
        target=target,
        answer_hint=HINT,
    )
    return replace(base, **overrides)


def secrets(**values: str) -> EnvSecretProvider:
    return EnvSecretProvider({f"SEGMENTS_SECRET_{k}": v for k, v in values.items()})


def assert_no_canary(*texts: object) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary not in str(text)


def error_text(err: ApplicationError) -> str:
    """Everything of an error that reaches workflow history: message, details, cause chain."""
    parts: list[str] = []
    current: BaseException | None = err
    while current is not None:
        parts.append(str(current))
        if isinstance(current, ApplicationError):
            parts.append(repr(current.details))
        current = current.__cause__
    return "\n".join(parts)


async def run(acts: NotifyActivities, req: NotificationRequest) -> dict[str, Any]:
    result: dict[str, Any] = await ActivityEnvironment().run(acts.notify, req)
    return result


# --- Slack ---------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=BOT_TOKEN) as server:
        yield server


def slack_acts(slack: SlackStandIn, token: str = BOT_TOKEN) -> NotifyActivities:
    settings = NotifySettings.from_env(
        {"SEGMENTS_SLACK_BASE_URL": slack.base_url.rstrip("/"), "SEGMENTS_SLACK_BOT_TOKEN": token}
    )
    return NotifyActivities(secrets(), settings)


async def test_slack_message_has_title_buttons_and_cli_hint(slack: SlackStandIn) -> None:
    receipt = await run(slack_acts(slack), request("slack", "C0FINANCE"))

    assert receipt["channel"] == "slack" and receipt["slack_channel"] == "C0FINANCE"
    assert receipt["ts"].startswith("1700000000.")
    assert receipt["idempotency_key"] == "order-42/approve/opened/0/slack"
    assert_no_canary(json.dumps(receipt))
    (call,) = slack.calls
    assert call.method == "chat.postMessage"
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    args = call.args
    assert args["channel"] == "C0FINANCE"
    blocks = args["blocks"]
    header = next(b for b in blocks if b["type"] == "header")
    assert header["text"]["text"] == "Approve order 42"
    section = next(b for b in blocks if b["type"] == "section" and "text" in b)
    assert "&lt;over limit&gt;" in section["text"]["text"]  # mrkdwn control characters escaped
    fields = " ".join(f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", []))
    assert "high" in fields and "2030-01-01T12:00:00Z" in fields and "alice" in fields
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    values = {e["action_id"]: json.loads(e["value"]) for e in actions["elements"]}
    assert values["segments_approve"] == {"run_id": "order-42", "task_id": "approve", "decision": "approve"}
    assert values["segments_reject"]["decision"] == "reject"
    context = next(b for b in blocks if b["type"] == "context")
    assert "segments approve order-42 approve --as alice" in context["elements"][0]["text"]
    assert args["metadata"]["event_payload"]["idempotency_key"] == "order-42/approve/opened/0/slack"


async def test_slack_choice_has_one_button_per_option_and_timed_out_has_none(slack: SlackStandIn) -> None:
    acts = slack_acts(slack)
    options = [ChoiceOption("fast", "Ship fast"), ChoiceOption("cheap", "Ship cheap")]
    await run(acts, request("slack", "#ops", kind="choice", options=options))
    await run(acts, request("slack", "#ops", event="timed_out"))

    choice_blocks, timed_out_blocks = (c.args["blocks"] for c in slack.calls)
    (actions,) = [b for b in choice_blocks if b["type"] == "actions"]
    assert [json.loads(e["value"])["option"] for e in actions["elements"]] == ["fast", "cheap"]
    assert [e["text"]["text"] for e in actions["elements"]] == ["Ship fast", "Ship cheap"]
    assert not [b for b in timed_out_blocks if b["type"] in ("actions", "context")]
    assert timed_out_blocks[0]["text"]["text"] == "Timed out: Approve order 42"


async def test_slack_ratelimited_is_retryable_after_retry_after(slack: SlackStandIn) -> None:
    slack.fail_next("ratelimited", status=429, retry_after=7)
    with pytest.raises(ApplicationError) as caught:
        await run(slack_acts(slack), request("slack", "C0FINANCE"))

    err = caught.value
    assert not err.non_retryable
    assert err.type == ERROR_SLACK_API
    assert err.next_retry_delay == timedelta(seconds=7)
    assert "ratelimited" in str(err)
    assert len(slack.calls) == 1  # one POST: Temporal retries
    assert_no_canary(error_text(err))


async def test_slack_invalid_auth_is_final_and_hides_the_token(slack: SlackStandIn) -> None:
    wrong = "xoxb-CANARY-bot-token-7f3a-but-revoked"
    with pytest.raises(ApplicationError) as caught:
        await run(slack_acts(slack, token=wrong), request("slack", "C0FINANCE"))

    err = caught.value
    assert err.non_retryable and err.type == ERROR_SLACK_API
    assert "invalid_auth" in str(err)
    assert err.__cause__ is None
    assert_no_canary(error_text(err))
    assert wrong not in error_text(err)


async def test_slack_channel_not_found_is_final(slack: SlackStandIn) -> None:
    slack.fail_next("channel_not_found")
    with pytest.raises(ApplicationError) as caught:
        await run(slack_acts(slack), request("slack", "#nowhere"))
    assert caught.value.non_retryable and "channel_not_found" in str(caught.value)


async def test_slack_without_token_secret_is_a_missing_secret(slack: SlackStandIn) -> None:
    """The bot token is the worker's own setting: a secret of that name, which a definition could
    name too, is not used."""
    acts = NotifyActivities(secrets(SLACK_BOT_TOKEN=BOT_TOKEN), NotifySettings(slack_base_url=slack.base_url))
    with pytest.raises(ApplicationError) as caught:
        await run(acts, request("slack", "C0FINANCE"))
    assert caught.value.type == ERROR_SECRET_MISSING and caught.value.non_retryable
    assert "SEGMENTS_SLACK_BOT_TOKEN" in str(caught.value)
    assert slack.calls == []


# --- Email ---------------------------------------------------------------------------------


def smtp_settings(
    server: SmtpStandIn, user: str | None = None, password: str | None = None
) -> NotifySettings:
    env = {
        "SEGMENTS_SMTP_HOST": "127.0.0.1",
        "SEGMENTS_SMTP_PORT": str(server.port),
        "SEGMENTS_SMTP_FROM": "segments@example.org",
    }
    if user:
        env["SEGMENTS_SMTP_USER"] = user
    if password:
        env["SEGMENTS_SMTP_PASSWORD"] = password
    return NotifySettings.from_env(env)


async def test_email_arrives_with_subject_recipients_and_cli_hint() -> None:
    with SmtpStandIn(user="robot", password=SMTP_PASSWORD) as server:
        acts = NotifyActivities(secrets(), smtp_settings(server, user="robot", password=SMTP_PASSWORD))
        receipt = await run(acts, request("email", ["alice@example.org", "bob@example.org"]))
        (mail,) = server.messages

    assert server.logins == ["robot"]
    assert mail.rcpt_tos == ["alice@example.org", "bob@example.org"]
    msg = mail.message
    assert msg["To"] == "alice@example.org, bob@example.org"
    assert msg["From"] == "segments@example.org"
    assert msg["Subject"] == "[segments] Approval needed: Approve order 42"
    digest = hashlib.sha256(b"order-42/approve/opened/0/email").hexdigest()[:40]
    assert msg["Message-ID"] == f"<{digest}@example.org>" == receipt["message_id"]
    assert msg.get_content_type() == "text/plain"
    body = msg.get_content()
    assert "    segments approve order-42 approve --as alice" in body
    assert "    segments reject order-42 approve --as alice" in body
    assert "Deadline: 2030-01-01T12:00:00Z" in body and "Total is 1,250.00 EUR" in body
    assert_no_canary(json.dumps(receipt), msg.as_string())


async def test_email_wrong_password_is_final_and_hides_the_password() -> None:
    with SmtpStandIn(user="robot", password="the-right-one") as server:
        acts = NotifyActivities(secrets(), smtp_settings(server, user="robot", password=SMTP_PASSWORD))
        with pytest.raises(ApplicationError) as caught:
            await run(acts, request("email", ["alice@example.org"]))
        assert server.messages == []

    err = caught.value
    assert err.non_retryable and err.type == ERROR_SMTP and "535" in str(err)
    assert_no_canary(error_text(err))


async def test_email_relay_down_is_retryable() -> None:
    with SmtpStandIn() as server:
        settings = smtp_settings(server)
    acts = NotifyActivities(secrets(), settings)  # the server has stopped: connection refused
    with pytest.raises(ApplicationError) as caught:
        await run(acts, request("email", ["alice@example.org"]))
    assert not caught.value.non_retryable and caught.value.type == ERROR_SMTP


# --- Teams and webhook ---------------------------------------------------------------------


def allowing(receiver: WebhookReceiver) -> EgressGuard:
    """The worker's guard with the receiver's loopback port opened, as `SEGMENTS_HTTP_ALLOW` would."""
    return EgressGuard(AllowList.parse(f"127.0.0.1:{receiver.port}"))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


async def test_teams_posts_an_adaptive_card_to_the_secret_url(receiver: WebhookReceiver) -> None:
    url = f"{receiver.url}/{TEAMS_PATH_TOKEN}"
    acts = NotifyActivities(secrets(TEAMS_URL=url), NotifySettings(), allowing(receiver))
    receipt = await run(acts, request("teams", "TEAMS_URL", event="escalated", level=1))

    (post,) = receiver.requests
    assert post.path == f"/hook/{TEAMS_PATH_TOKEN}"
    envelope = post.json()
    assert envelope["type"] == "message"
    (attachment,) = envelope["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [b.get("text") for b in attachment["content"]["body"]]
    assert texts[0] == "Escalated: Approve order 42"
    assert HINT in texts
    facts = next(b["facts"] for b in attachment["content"]["body"] if b["type"] == "FactSet")
    assert {"title": "Escalation level", "value": "1"} in facts
    assert receipt == {
        "channel": "teams",
        "event": "escalated",
        "idempotency_key": "order-42/approve/escalated/1/teams",
        "status": 200,
    }


async def test_teams_errors_and_logs_never_show_the_webhook_url(
    receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{receiver.url}/{TEAMS_PATH_TOKEN}"
    acts = NotifyActivities(secrets(TEAMS_URL=url), NotifySettings(), allowing(receiver))
    receiver.respond_next(503, b"busy", {"Retry-After": "3"})
    receiver.respond_next(400, f"bad payload for {url}".encode())
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ApplicationError) as busy:
            await run(acts, request("teams", "TEAMS_URL"))
        with pytest.raises(ApplicationError) as bad:
            await run(acts, request("teams", "TEAMS_URL"))

    assert not busy.value.non_retryable and busy.value.next_retry_delay == timedelta(seconds=3)
    assert bad.value.non_retryable and "HTTP 400" in str(bad.value) and "TEAMS_URL" in str(bad.value)
    assert_no_canary(error_text(busy.value), error_text(bad.value))
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log...
    assert_no_canary(*(r.getMessage() for r in caplog.records))  # ...without the URL


async def test_teams_url_guard_refusal_hides_the_url(receiver: WebhookReceiver) -> None:
    url = f"{receiver.url}/{TEAMS_PATH_TOKEN}"
    acts = NotifyActivities(secrets(TEAMS_URL=url), NotifySettings(), EgressGuard())  # loopback refused
    with pytest.raises(ApplicationError) as caught:
        await run(acts, request("teams", "TEAMS_URL"))
    assert caught.value.type == ERROR_EGRESS_DENIED and caught.value.non_retryable
    assert_no_canary(error_text(caught.value))
    assert receiver.requests == []


async def test_webhook_posts_signed_json_with_idempotency_key(receiver: WebhookReceiver) -> None:
    acts = NotifyActivities(secrets(HOOK_SECRET=HOOK_KEY), NotifySettings(), allowing(receiver))
    req = request("webhook", receiver.url, signing_secret="HOOK_SECRET", event="sla_warning")
    receipt = await run(acts, req)

    (post,) = receiver.requests
    assert post.headers["content-type"] == "application/json"
    assert post.headers["idempotency-key"] == "order-42/approve/sla_warning/0/webhook"
    assert post.headers["x-segments-event"] == "sla_warning"
    expected = "sha256=" + hmac.new(HOOK_KEY.encode(), post.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(post.headers["x-segments-signature"], expected)
    payload = post.json()
    assert payload["run_id"] == "order-42" and payload["task_id"] == "approve"
    assert payload["title"] == "Approve order 42" and payload["answer_hint"] == HINT
    assert payload["idempotency_key"] == "order-42/approve/sla_warning/0/webhook"
    assert "signing_secret" not in payload
    assert receipt["status"] == 200
    assert_no_canary(json.dumps(receipt))


async def test_webhook_unsigned_without_secret_and_429_is_retryable(receiver: WebhookReceiver) -> None:
    acts = NotifyActivities(secrets(), NotifySettings(), allowing(receiver))
    receiver.respond_next(429, b"slow down", {"Retry-After": "12"})
    with pytest.raises(ApplicationError) as caught:
        await run(acts, request("webhook", receiver.url))
    await run(acts, request("webhook", receiver.url))

    assert not caught.value.non_retryable and caught.value.next_retry_delay == timedelta(seconds=12)
    first, second = receiver.requests
    assert "x-segments-signature" not in second.headers
    assert first.body == second.body  # a retry sends the same bytes: same signature, same key


# --- The `notify` config of a human_task ----------------------------------------------------


def test_notify_config_entries_give_request_targets() -> None:
    entries = parse_notify(
        [
            {"channel": "slack", "to": "#finance", "events": ["opened", "escalated"]},
            {"channel": "email", "to": "alice@example.org"},
            {"channel": "teams", "webhook_secret": "TEAMS_URL"},
            {"channel": "webhook", "url": "https://hooks.example.org/t", "secret": "HOOK_SECRET"},
        ]
    )
    assert [(e.channel, e.target(), e.signing_secret()) for e in entries] == [
        ("slack", "#finance", None),
        ("email", ["alice@example.org"], None),
        ("teams", "TEAMS_URL", None),
        ("webhook", "https://hooks.example.org/t", "HOOK_SECRET"),
    ]
    assert entries[0].events == ["opened", "escalated"] and "timed_out" in entries[1].events


@pytest.mark.parametrize(
    "entry",
    [
        {"channel": "slack", "to": "#f", "token": "xoxb-inline"},  # extra key: secrets are never inline
        {"channel": "email", "to": ["not-an-address"]},
        {"channel": "teams", "webhook_secret": "https://outlook.example/webhook"},  # a URL, not a name
        {"channel": "webhook", "url": "ftp://x"},
        {"channel": "pager", "to": "x"},
    ],
)
def test_notify_config_refuses_bad_entries(entry: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_notify([entry])
