"""Provider failures as Temporal errors (the HTTP rules are those of `activities.http_errors`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_LLM_PROVIDER, ERROR_LLM_REFUSAL, ERROR_SCHEMA, ERROR_SECRET_MISSING
from activities.http_errors import snippet, status_error, transport_error


def api_status_error(
    what: str,
    status: int,
    headers: Mapping[str, str],
    body_text: str,
    message: str | None,
    *,
    secrets: list[str],
) -> ApplicationError:
    """A 4xx/5xx from the provider: 408/409/429/5xx retryable (with Retry-After), other 4xx not."""
    return status_error(
        status, headers, body_text, what=what, detail=message, secrets=secrets, error_type=ERROR_LLM_PROVIDER
    )


def api_transport_error(what: str, exc: BaseException, *, timeout: bool) -> ApplicationError:
    return transport_error(exc, what=what, timeout=timeout, error_type=ERROR_LLM_PROVIDER)


def refusal_error(what: str, detail: str | None) -> ApplicationError:
    """The model declined (content policy): asking again the same way will not help."""
    return ApplicationError(
        f"{what}: the model refused to answer" + (f": {snippet(detail)}" if detail else ""),
        {"refusal": snippet(detail or "")},
        type=ERROR_LLM_REFUSAL,
        non_retryable=True,
    )


def missing_key_error(provider: str, variable: str) -> ApplicationError:
    return ApplicationError(
        f"provider '{provider}' has no API key on this worker; set {variable} in the worker's environment",
        type=ERROR_SECRET_MISSING,
        non_retryable=True,
    )


def not_structured_error(what: str, text: str) -> ApplicationError:
    """No usable structured answer: retryable, the step's retry policy bounds the attempts."""
    return ApplicationError(
        f"{what}: the structured answer is not a JSON value: {snippet(text, limit=200)}",
        type=ERROR_SCHEMA,
        non_retryable=False,
    )


def parse_structured(what: str, text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise not_structured_error(what, text) from None


def response_text(response: Any) -> str:
    """The body of an SDK error's response, or "" when it cannot be read any more."""
    try:
        return str(response.text)
    except Exception:  # a streamed or closed response
        return ""
