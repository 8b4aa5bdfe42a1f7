"""Outbound HTTP for the Teams and webhook channels: one POST, errors mapped for Temporal.

Temporal's retry policy is the only retry loop, so a POST is tried once here and its
failure becomes an `ApplicationError`: retryable for transport errors, 408, 425, 429 and
5xx (with `next_retry_delay` from `Retry-After`), non-retryable for other statuses.

A URL taken from a secret (a Teams incoming webhook) is a credential: it never appears in
an error, and `httpx`'s own INFO line ("HTTP Request: POST <url> ...") is redacted while
the request is in flight.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_EGRESS_DENIED, ERROR_HTTP_STATUS, ERROR_HTTP_TRANSPORT

UrlGuard = Callable[[str], Awaitable[None] | None]
"""Checks an outbound URL before it is called; raises (an `ApplicationError`) to refuse it.
The hook for the worker's egress guard (`activities/egress.py`)."""

MAX_RETRY_AFTER = timedelta(hours=1)
_RETRYABLE_STATUSES = {408, 425, 429}

_secret_url: ContextVar[str | None] = ContextVar("segments_notify_secret_url", default=None)


class _RedactSecretUrl(logging.Filter):
    """Replaces the in-flight secret URL in `httpx` log records of the current task."""

    def filter(self, record: logging.LogRecord) -> bool:
        secret = _secret_url.get()
        if secret:
            if isinstance(record.args, tuple):
                record.args = tuple("[secret url]" if secret in str(a) else a for a in record.args)
            if isinstance(record.msg, str) and secret in record.msg:
                record.msg = record.msg.replace(secret, "[secret url]")
        return True


_FILTER = _RedactSecretUrl()
if not any(isinstance(f, _RedactSecretUrl) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_FILTER)


@contextlib.contextmanager
def _hidden(url: str | None) -> Iterator[None]:
    token = _secret_url.set(url)
    try:
        yield
    finally:
        _secret_url.reset(token)


def retry_after(value: str | None) -> timedelta | None:
    """`Retry-After` as a delay: seconds or an HTTP date, capped at an hour."""
    if not value:
        return None
    value = value.strip()
    try:
        delay = timedelta(seconds=max(0.0, float(value)))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = max(timedelta(0), when - datetime.now(UTC))
    return min(delay, MAX_RETRY_AFTER)


async def check_url(url_guard: UrlGuard | None, url: str, *, label: str, secret: bool) -> None:
    """Runs the egress hook; for a secret URL, the guard's own message (which may quote the
    URL) is replaced by one that names only the label."""
    if url_guard is None:
        return
    try:
        result = url_guard(url)
        if inspect.isawaitable(result):
            await result
    except ApplicationError:
        if not secret:
            raise
        raise ApplicationError(
            f"{label}: refused by the egress guard", type=ERROR_EGRESS_DENIED, non_retryable=True
        ) from None
    except OSError as exc:  # the guard could not resolve the host: may work later
        raise ApplicationError(
            f"{label}: egress check failed ({type(exc).__name__})", type=ERROR_HTTP_TRANSPORT
        ) from None
    except Exception as exc:
        detail = "" if secret else f": {exc}"
        raise ApplicationError(
            f"{label}: refused by the egress guard{detail}", type=ERROR_EGRESS_DENIED, non_retryable=True
        ) from None


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
    label: str,
    secret_url: bool,
) -> httpx.Response:
    """POSTs once; returns a 2xx response or raises an `ApplicationError` naming `label`.

    `label` must not hold a secret: it is what errors show instead of the URL."""
    try:
        with _hidden(url if secret_url else None):
            response = await client.post(
                url, content=content, headers=headers, timeout=timeout, follow_redirects=False
            )
    except httpx.HTTPError as exc:
        raise ApplicationError(
            f"{label}: request failed ({type(exc).__name__})", type=ERROR_HTTP_TRANSPORT
        ) from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    snippet = "" if secret_url else _snippet(response)
    message = f"{label}: HTTP {status}{snippet}"
    if status in _RETRYABLE_STATUSES or status >= 500:
        raise ApplicationError(
            message,
            type=ERROR_HTTP_STATUS,
            next_retry_delay=retry_after(response.headers.get("retry-after")),
        )
    raise ApplicationError(message, type=ERROR_HTTP_STATUS, non_retryable=True)


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    if not text:
        return ""
    return f": {text[:limit]}{'...' if len(text) > limit else ''}"
