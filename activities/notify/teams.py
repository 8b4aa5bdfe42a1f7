"""Microsoft Teams: an Adaptive Card POSTed to an incoming webhook.

The envelope (`{"type": "message", "attachments": [...]}`) is the one both the legacy
Office 365 connectors and the Workflows (Power Automate) webhooks accept. The card has no
buttons: an incoming webhook cannot receive their clicks, so it shows the CLI command.
The webhook URL is a credential taken from a secret; errors name the secret, not the URL.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG
from activities.egress import EgressGuard
from activities.notify import _http, _render
from activities.notify.contracts import NotificationRequest

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def build_card(req: NotificationRequest) -> dict[str, Any]:
    """The message envelope holding one Adaptive Card (pure)."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": _render.headline(req),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    if req.description:
        body.append({"type": "TextBlock", "text": req.description, "wrap": True})
    body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _render.facts(req)]})
    if req.kind == "choice" and req.options:
        options = "\n".join(f"- {o.id}: {o.label}" for o in req.options)
        body.append({"type": "TextBlock", "text": f"Options:\n{options}", "wrap": True})
    if req.answer_hint and _render.is_open(req):
        body.append({"type": "TextBlock", "text": "Answer from a terminal:", "wrap": True, "isSubtle": True})
        body.append({"type": "TextBlock", "text": req.answer_hint, "fontType": "Monospace", "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


async def send_teams(
    req: NotificationRequest,
    *,
    url: str,
    client: httpx.AsyncClient,
    timeout_s: float,
    guard: EgressGuard,
) -> dict[str, Any]:
    """Posts the card to `url` (the secret's value); returns `{"status"}`."""
    label = f"teams webhook (secret '{req.target}')"
    if not url.lower().startswith(("https://", "http://")):
        raise ApplicationError(
            f"{label}: the secret is not an http(s) URL", type=ERROR_CONFIG, non_retryable=True
        )
    await _http.check_destination(guard, url, label=label, secret_url=True)
    response = await _http.post(
        client,
        url,
        content=json.dumps(build_card(req)).encode(),
        headers={"Content-Type": "application/json"},
        timeout=timeout_s,
        label=label,
        secret_url=True,
    )
    return {"status": response.status_code}
