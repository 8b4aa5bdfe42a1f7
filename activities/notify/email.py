"""Email: a plain-text message through the worker's SMTP relay (stdlib `smtplib`, in a thread).

The `Message-ID` is derived from the idempotency key, so a retry that re-sends after a lost
reply carries the same id and mail clients thread (or drop) the duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG
from activities.notify import _render
from activities.notify.contracts import ERROR_SMTP, NotificationRequest
from activities.notify.settings import NotifySettings


def _one_line(text: str) -> str:
    """Header values may not hold line breaks (header injection)."""
    return " ".join(text.split())


def message_id(req: NotificationRequest, sender: str) -> str:
    digest = hashlib.sha256(req.key.encode()).hexdigest()[:40]
    domain = sender.rpartition("@")[2].strip(" >") or "segments.local"
    return f"<{digest}@{domain}>"


def build_body(req: NotificationRequest) -> str:
    """The plain-text body: what the task is, by when, and the command that answers it."""
    parts = [_render.headline(req)]
    if req.description:
        parts.append(req.description)
    parts.append("\n".join(f"{label}: {value}" for label, value in _render.facts(req)))
    if req.kind == "choice" and req.options:
        parts.append("Options:\n" + "\n".join(f"  - {o.id}: {o.label}" for o in req.options))
    if not _render.is_open(req):
        parts.append("This task timed out and can no longer be answered.")
    elif req.answer_hint:
        hint = "\n".join(f"    {line}" for line in req.answer_hint.splitlines())
        parts.append(f"To answer, run:\n\n{hint}")
    return "\n\n".join(parts) + "\n"


def build_message(req: NotificationRequest, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(req.recipients)
    msg["Subject"] = _one_line(_render.subject(req))
    msg["Message-ID"] = message_id(req, sender)
    msg["Date"] = formatdate(usegmt=True)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Segments-Run-Id"] = _one_line(req.run_id)
    msg["X-Segments-Task-Id"] = _one_line(req.task_id)
    msg["X-Segments-Event"] = req.event
    msg.set_content(build_body(req))
    return msg


async def send_email(
    req: NotificationRequest, *, settings: NotifySettings, password: str | None
) -> dict[str, Any]:
    """Sends the message; returns `{"message_id", "recipients", "refused"}`."""
    if not settings.smtp_host:
        raise ApplicationError(
            "email notifications need SEGMENTS_SMTP_HOST in the worker's environment",
            type=ERROR_CONFIG,
            non_retryable=True,
        )
    if not req.recipients:
        raise ApplicationError(
            f"task '{req.task_id}': an email notification needs at least one recipient",
            type=ERROR_CONFIG,
            non_retryable=True,
        )
    msg = build_message(req, settings.smtp_from)
    try:
        refused = await asyncio.to_thread(_deliver, msg, req.recipients, settings, password)
    except ApplicationError:
        raise
    except Exception as exc:
        raise _smtp_error(exc, settings, password) from None
    return {
        "message_id": str(msg["Message-ID"]),
        "recipients": req.recipients,
        "refused": {addr: code for addr, (code, _) in refused.items()},
    }


def _deliver(
    msg: EmailMessage, recipients: list[str], settings: NotifySettings, password: str | None
) -> dict[str, tuple[int, bytes]]:
    assert settings.smtp_host is not None
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_ssl:
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s)
    with smtp:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, password or "")
        return smtp.send_message(msg, from_addr=settings.smtp_from, to_addrs=recipients)


def _smtp_error(exc: Exception, settings: NotifySettings, password: str | None) -> ApplicationError:
    """Maps an smtplib failure: 4xx replies and lost connections are retryable, 5xx are not."""
    where = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # The server's reply to AUTH is left out: nothing the password could leak through.
        return ApplicationError(
            f"{where}: login as '{settings.smtp_user}' refused ({exc.smtp_code})",
            type=ERROR_SMTP,
            non_retryable=True,
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = {addr: code for addr, (code, _) in exc.recipients.items()}
        return ApplicationError(
            f"{where}: every recipient refused: {codes}",
            type=ERROR_SMTP,
            non_retryable=not any(400 <= c < 500 for c in codes.values()),
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ApplicationError(f"{where}: {exc}", type=ERROR_SMTP, non_retryable=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        if password:
            reply = reply.replace(password, "[redacted]")
        return ApplicationError(
            f"{where}: {exc.smtp_code} {reply[:200]}",
            type=ERROR_SMTP,
            non_retryable=exc.smtp_code >= 500,
        )
    return ApplicationError(f"{where}: connection failed ({type(exc).__name__})", type=ERROR_SMTP)
