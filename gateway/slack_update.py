"""Replace an answered task's Slack message with the outcome through the Web API's `chat.update`,
with the gateway's bot token (`SEGMENTS_GATEWAY_SLACK_BOT_TOKEN`). Unlike an interaction's
`response_url` (valid 30 minutes, five uses), `chat.update` works for as long as the message
exists. Without a token, or when Slack refuses, the caller falls back to the `response_url`."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from gateway.settings import GatewaySettings

log = logging.getLogger("segments.gateway.slack")


def message_of(payload: dict[str, Any]) -> tuple[str, str] | None:
    """(channel id, message ts) of the message a Slack interaction came from, if it says."""
    container, channel, message = (_object(payload.get(key)) for key in ("container", "channel", "message"))
    channel_id = channel.get("id") or container.get("channel_id")
    ts = message.get("ts") or container.get("message_ts")
    if isinstance(channel_id, str) and isinstance(ts, str) and channel_id and ts:
        return channel_id, ts
    return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def update_message(settings: GatewaySettings, channel: str, ts: str, text: str) -> bool:
    """True when Slack updated the message; never logs the token or Slack's whole answer."""
    token = settings.slack_bot_token
    if not token:
        return False
    body = {
        "channel": channel,
        "ts": ts,
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
    try:
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
            reply = await http.post(
                settings.slack_api_url + "chat.update",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
        data = reply.json()
    except (httpx.HTTPError, ValueError) as err:
        log.warning("Slack chat.update failed: %s", type(err).__name__)
        return False
    if not isinstance(data, dict) or not data.get("ok"):
        error = data.get("error") if isinstance(data, dict) else None
        log.warning("Slack chat.update refused: %s", str(error)[:100])
        return False
    return True
