"""Slack: one `chat.postMessage` with Block Kit, over the worker's one outbound HTTP path.

The message carries the task's title (header), description, facts, the CLI command that
answers it and, while the task is open, buttons (approve / reject, or one per option of a
choice) whose `value` is JSON naming the run and the task, for a future interactivity
endpoint. The call is one POST of JSON with the bot token as bearer (Slack's Web API), sent
through `activities.outbound` like every other request: pinned to the guard's checked address,
no environment proxy, a bounded answer. Temporal retries; nothing here does.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG
from activities.http_errors import is_retryable_status, parse_retry_after
from activities.notify import _http, _render
from activities.notify.contracts import ERROR_SLACK_API, NotificationRequest

ACTION_APPROVE = "segments_approve"
ACTION_REJECT = "segments_reject"
ACTION_OPTION_PREFIX = "segments_option_"
BLOCK_ACTIONS = "segments_task_actions"

# Slack errors another attempt may cure; any other `ok: false` is final.
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


def _esc(text: str) -> str:
    """Escapes the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _button(text: str, action_id: str, value: dict[str, str], style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": _render.truncate(text, 75)},
        "action_id": action_id,
        "value": json.dumps(value, separators=(",", ":")),
    }
    if style:
        button["style"] = style
    return button


def _buttons(req: NotificationRequest) -> list[dict[str, Any]]:
    ids = {"run_id": req.run_id, "task_id": req.task_id}
    if req.kind == "approval":
        return [
            _button("Approve", ACTION_APPROVE, {**ids, "decision": "approve"}, "primary"),
            _button("Reject", ACTION_REJECT, {**ids, "decision": "reject"}, "danger"),
        ]
    if req.kind == "choice":
        return [
            _button(o.label or o.id, f"{ACTION_OPTION_PREFIX}{i}", {**ids, "option": o.id})
            for i, o in enumerate(req.options[:25])
        ]
    return []


def build_blocks(req: NotificationRequest) -> list[dict[str, Any]]:
    """The Block Kit blocks of the message (pure: the tests and a preview use it)."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _render.truncate(_render.headline(req), 150)},
        }
    ]
    if req.description:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _render.truncate(_esc(req.description), 3000)},
            }
        )
    fields = [
        {"type": "mrkdwn", "text": _render.truncate(f"*{label}*\n{_esc(value)}", 2000)}
        for label, value in _render.facts(req)
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})
    buttons = _buttons(req) if _render.is_open(req) else []
    if buttons:
        blocks.append({"type": "actions", "block_id": BLOCK_ACTIONS, "elements": buttons})
    if req.answer_hint and _render.is_open(req):
        hint = f"Answer from a terminal:\n```{_esc(req.answer_hint)}```"
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _render.truncate(hint, 3000)}]}
        )
    return blocks


def fallback_text(req: NotificationRequest) -> str:
    """The notification text (push notifications, screen readers, old clients)."""
    text = _render.headline(req)
    if req.answer_hint and _render.is_open(req):
        text += f"\nAnswer with: {req.answer_hint}"
    return _esc(text)


async def send_slack(
    req: NotificationRequest, *, token: str, base_url: str, client: httpx.AsyncClient, timeout_s: float
) -> dict[str, Any]:
    """Posts the message; returns `{"slack_channel", "ts"}`. Never puts `token` in an error."""
    if not isinstance(req.target, str) or not req.target.strip():
        raise ApplicationError(
            f"task '{req.task_id}': a slack notification needs one channel as target",
            type=ERROR_CONFIG,
            non_retryable=True,
        )
    channel = req.target.strip()
    message = {
        "channel": channel,
        "text": fallback_text(req),
        "blocks": build_blocks(req),
        "unfurl_links": False,
        "metadata": {
            "event_type": f"segments_task_{req.event}",
            "event_payload": {"run_id": req.run_id, "task_id": req.task_id, "idempotency_key": req.key},
        },
    }
    label = f"slack chat.postMessage to {channel}"
    response, raw = await _http.exchange(
        client,
        base_url + "chat.postMessage",
        content=json.dumps(message).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"},
        timeout=timeout_s,
        label=label,
        secret_url=False,
    )
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("ok"):
        raise _api_error(response, data if isinstance(data, dict) else {}, label)
    return {"slack_channel": str(data.get("channel") or channel), "ts": str(data.get("ts") or "")}


def _api_error(response: httpx.Response, data: dict[str, Any], label: str) -> ApplicationError:
    """Slack's error code (never the rest of the answer): retryable when another try may help."""
    status = response.status_code
    code = str(data.get("error") or f"HTTP {status}")[:100]
    message = f"{label} failed: {code}"
    if code in _TRANSIENT or is_retryable_status(status):
        delay = parse_retry_after(response.headers)
        return ApplicationError(message, type=ERROR_SLACK_API, next_retry_delay=delay)
    return ApplicationError(message, type=ERROR_SLACK_API, non_retryable=True)
