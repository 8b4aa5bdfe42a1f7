"""Slack request signatures: `v0=` HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret."""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_TIMESTAMP_DIGITS = 12


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    max_age_seconds: int = 300,
    now: float | None = None,
) -> str | None:
    """Why the request is refused, or None when it is Slack's and fresh."""
    if not timestamp or not signature:
        return "missing Slack signature headers"
    # ASCII digits only, and few: `isdigit()` alone accepts '²', which int() refuses, and a
    # 5000-digit number makes int() raise; either would be a 500 instead of a 401.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        return "bad X-Slack-Request-Timestamp"
    if not signature.isascii():
        return "the Slack signature does not match"
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > max_age_seconds:
        return "X-Slack-Request-Timestamp is too old"
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode()):
        return "the Slack signature does not match"
    return None
