"""Mapping HTTP outcomes to Temporal errors, shared by `http_action` and the LLM providers.

Temporal's retry policy is the only retry loop, so every failure must say whether another
attempt can help (`non_retryable`) and, when the server said so, how long to wait
(`next_retry_delay`, from `Retry-After-Ms` / `Retry-After`):

- 408, 409, 425, 429 and 5xx, timeouts and connection errors: retryable;
- any other 4xx: non-retryable, with the status and a bounded, redacted snippet of the body;
- an `X-Should-Retry: true|false` header (sent by the OpenAI and Anthropic APIs) overrides the status.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_HTTP_STATUS, ERROR_HTTP_TRANSPORT

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
SNIPPET_CHARS = 500
MAX_RETRY_AFTER = timedelta(hours=1)
"""A `Retry-After` longer than this is capped: the step's own timeout should decide."""
REDACTED = "[REDACTED]"


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> timedelta | None:
    """The delay a server asked for, from `Retry-After-Ms`, or `Retry-After` in seconds or as an HTTP date."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return _bounded(timedelta(milliseconds=float(raw_ms)))
        except (ValueError, OverflowError):
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return _bounded(timedelta(seconds=float(raw)))
    except (ValueError, OverflowError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _bounded(when - (now or datetime.now(UTC)))


def _bounded(delay: timedelta) -> timedelta | None:
    if delay < timedelta(0):  # a date in the past means "now"
        return timedelta(0)
    return min(delay, MAX_RETRY_AFTER)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each (non-trivial) secret value replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def snippet(text: str, secrets: Iterable[str] = (), limit: int = SNIPPET_CHARS) -> str:
    """A bounded, redacted excerpt of a response body, for error messages."""
    text = redact(text, secrets)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


def status_error(
    status: int,
    headers: Mapping[str, str],
    body_text: str,
    *,
    what: str,
    detail: str | None = None,
    secrets: Iterable[str] = (),
    error_type: str = ERROR_HTTP_STATUS,
) -> ApplicationError:
    """The error for a response with status >= 400.

    `what` names the step and the call (`step 'place': POST https://erp/orders`); `detail` is
    a provider's own explanation when it has one. Details carry `{status, body}` for `on_error: route`.
    """
    retryable = is_retryable_status(status)
    should_retry = (headers.get("x-should-retry") or "").strip().lower()
    if should_retry in ("true", "false"):
        retryable = should_retry == "true"
    excerpt = snippet(body_text, secrets)
    message = f"{what} answered HTTP {status}"
    if detail:
        message += f": {redact(detail, secrets)[:SNIPPET_CHARS]}"
    elif excerpt:
        message += f": {excerpt}"
    return ApplicationError(
        message,
        {"status": status, "body": excerpt},
        type=error_type,
        non_retryable=not retryable,
        next_retry_delay=parse_retry_after(headers) if retryable else None,
    )


def transport_error(
    exc: BaseException, *, what: str, timeout: bool = False, error_type: str = ERROR_HTTP_TRANSPORT
) -> ApplicationError:
    """A retryable error for a timeout or a failed connection (the message never holds headers)."""
    kind = "timed out" if timeout else "failed to connect or was cut off"
    reason = str(exc) or type(exc).__name__
    return ApplicationError(
        f"{what} {kind}: {reason[:SNIPPET_CHARS]}",
        {"reason": type(exc).__name__},
        type=error_type,
        non_retryable=False,
    )
