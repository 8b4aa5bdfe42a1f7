"""Outbound HTTP of the notification channels (webhook, Teams, Slack): one request, errors
mapped for Temporal.

Every request goes through the worker's one outbound path (`activities.outbound`): the egress
guard pins the connection to the addresses it checked, no proxy from the environment is used,
and the answer is read up to `MAX_ANSWER_BYTES` (decompressed within that bound). Statuses map
to errors exactly as for `http_action` (`activities.http_errors`), but a notification's error
never quotes the response body: the receiver is segment input, and its answer is none of the
run's business.

A URL taken from a secret (a Teams incoming webhook) is a credential: it never appears in
an error, and `httpx`'s own INFO line ("HTTP Request: POST <url> ...") is redacted while
the request is in flight.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

import httpx
from temporalio.exceptions import ApplicationError

from activities.bounded_body import ResponseTooLarge, UndecodableBody, read_bounded
from activities.contracts import ERROR_EGRESS_DENIED, ERROR_HTTP_TRANSPORT
from activities.egress import EgressDenied, EgressGuard
from activities.http_errors import status_error

MAX_ANSWER_BYTES = 64 * 1024
"""How much of a receiver's answer is read; Slack's JSON answer fits easily."""

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


def _refused(label: str, exc: EgressDenied, *, secret_url: bool) -> ApplicationError:
    detail = "" if secret_url else f": {exc}"
    return ApplicationError(
        f"{label}: refused by the egress guard{detail}", type=ERROR_EGRESS_DENIED, non_retryable=True
    )


async def check_destination(guard: EgressGuard, url: str, *, label: str, secret_url: bool) -> None:
    """Refuses a destination before anything is built or sent, with a clear error (as
    `http_action` does). The connection is checked again, and pinned, by the transport."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        await guard.check(parsed.raw_host.decode("ascii"), port)
    except EgressDenied as exc:
        raise _refused(label, exc, secret_url=secret_url) from None
    except OSError as exc:  # does not resolve now: may later
        raise ApplicationError(
            f"{label}: egress check failed ({type(exc).__name__})", type=ERROR_HTTP_TRANSPORT
        ) from None


async def exchange(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
    label: str,
    secret_url: bool,
) -> tuple[httpx.Response, bytes]:
    """POSTs once; returns the response and at most `MAX_ANSWER_BYTES` of its body.

    Raises an `ApplicationError` naming `label` (never the URL when `secret_url`, never the
    body) for a refused destination or a failed transport; statuses are the caller's."""
    try:
        with _hidden(url if secret_url else None):
            request = client.build_request("POST", url, content=content, headers=headers, timeout=timeout)
            response = await client.send(request, stream=True)
            try:
                raw = await read_bounded(response, MAX_ANSWER_BYTES, truncate=True)
            finally:
                await response.aclose()
    except EgressDenied as exc:  # the name now resolves elsewhere than at the check
        raise _refused(label, exc, secret_url=secret_url) from None
    except (httpx.HTTPError, OSError, UndecodableBody, ResponseTooLarge) as exc:
        raise ApplicationError(
            f"{label}: request failed ({type(exc).__name__})",
            {"reason": type(exc).__name__},
            type=ERROR_HTTP_TRANSPORT,
        ) from None
    return response, raw


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
    """POSTs once; returns a 2xx response or raises the `http_action` error for its status,
    without the body. `label` must not hold a secret: it is what errors show instead of the URL."""
    response, _ = await exchange(
        client, url, content=content, headers=headers, timeout=timeout, label=label, secret_url=secret_url
    )
    if not 200 <= response.status_code < 300:  # a redirect is not followed: a notification is one POST
        raise status_error(response.status_code, response.headers, "", what=label)
    return response
