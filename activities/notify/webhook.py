"""Generic webhook: the notification as JSON, POSTed to a URL.

Headers: `Idempotency-Key` (stable across retries: the consumer dedupes on it),
`X-Segments-Event`, and, when the entry names a secret, `X-Segments-Signature:
sha256=<hex>`: HMAC-SHA256 of the exact body bytes keyed with the secret's value, as
GitHub does. The body is the same on every retry, so is the signature.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG
from activities.egress import EgressGuard
from activities.notify import _http
from activities.notify.contracts import NotificationRequest

SIGNATURE_HEADER = "X-Segments-Signature"
PAYLOAD_VERSION = 1


def build_payload(req: NotificationRequest) -> bytes:
    """The body: every field of the request but the signing secret's name, the idempotency
    key in force, and a version."""
    data = dataclasses.asdict(req)
    data.pop("signing_secret", None)
    data["idempotency_key"] = req.key
    data["version"] = PAYLOAD_VERSION
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(body: bytes, key: str) -> str:
    """The `X-Segments-Signature` value; receivers compare it with `hmac.compare_digest`."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


async def send_webhook(
    req: NotificationRequest,
    *,
    signing_key: str | None,
    client: httpx.AsyncClient,
    timeout_s: float,
    guard: EgressGuard,
) -> dict[str, Any]:
    """POSTs the payload to `req.target`; returns `{"status"}`."""
    url = req.target if isinstance(req.target, str) else ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApplicationError(
            f"task '{req.task_id}': a webhook notification needs an http(s) URL as target",
            type=ERROR_CONFIG,
            non_retryable=True,
        )
    # The URL is configuration, not a credential, but its query may still hold a token
    # someone pasted there: errors name the host only.
    label = f"webhook to {parts.hostname}"
    await _http.check_destination(guard, url, label=label, secret_url=False)
    body = build_payload(req)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": req.key,
        "X-Segments-Event": req.event,
    }
    if signing_key is not None:
        headers[SIGNATURE_HEADER] = sign(body, signing_key)
    response = await _http.post(
        client, url, content=body, headers=headers, timeout=timeout_s, label=label, secret_url=False
    )
    return {"status": response.status_code}
