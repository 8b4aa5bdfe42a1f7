"""Worker settings of the notification channels, from `SEGMENTS_*` environment variables.

Values that are credentials (the Slack bot token, the SMTP password) are not settings:
they are secrets, resolved by name through the worker's `SecretProvider`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

SLACK_DEFAULT_BASE_URL = "https://slack.com/api/"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class NotifySettings:
    slack_base_url: str = SLACK_DEFAULT_BASE_URL
    """`SEGMENTS_SLACK_BASE_URL`: the Web API root; tests point it at a local stand-in."""
    slack_token_secret: str = "SLACK_BOT_TOKEN"
    """`SEGMENTS_SLACK_TOKEN_SECRET`: the NAME of the secret holding the bot token (`xoxb-...`)."""
    smtp_host: str | None = None
    """`SEGMENTS_SMTP_HOST`: the relay; email notifications fail (non-retryable) without it."""
    smtp_port: int = 25
    """`SEGMENTS_SMTP_PORT`."""
    smtp_from: str = "segments@localhost"
    """`SEGMENTS_SMTP_FROM`: the From address; its domain also ends each Message-ID."""
    smtp_user: str | None = None
    """`SEGMENTS_SMTP_USER`: when set, the worker logs in with it and the password secret."""
    smtp_password_secret: str = "SMTP_PASSWORD"
    """`SEGMENTS_SMTP_PASSWORD_SECRET`: the NAME of the secret holding the SMTP password."""
    smtp_starttls: bool = False
    """`SEGMENTS_SMTP_STARTTLS`: upgrade the connection with STARTTLS (port 587)."""
    smtp_ssl: bool = False
    """`SEGMENTS_SMTP_SSL`: implicit TLS from the first byte (port 465)."""
    timeout_s: float = 10.0
    """`SEGMENTS_NOTIFY_TIMEOUT`: seconds for one send on any channel."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotifySettings:
        env = environ if environ is not None else os.environ
        default = cls()

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        return cls(
            slack_base_url=_with_slash(get("SEGMENTS_SLACK_BASE_URL") or default.slack_base_url),
            slack_token_secret=get("SEGMENTS_SLACK_TOKEN_SECRET") or default.slack_token_secret,
            smtp_host=get("SEGMENTS_SMTP_HOST"),
            smtp_port=int(get("SEGMENTS_SMTP_PORT") or default.smtp_port),
            smtp_from=get("SEGMENTS_SMTP_FROM") or default.smtp_from,
            smtp_user=get("SEGMENTS_SMTP_USER"),
            smtp_password_secret=get("SEGMENTS_SMTP_PASSWORD_SECRET") or default.smtp_password_secret,
            smtp_starttls=_flag(get("SEGMENTS_SMTP_STARTTLS"), default.smtp_starttls),
            smtp_ssl=_flag(get("SEGMENTS_SMTP_SSL"), default.smtp_ssl),
            timeout_s=float(get("SEGMENTS_NOTIFY_TIMEOUT") or default.timeout_s),
        )


def _with_slash(url: str) -> str:
    """slack_sdk joins `base_url + method`, so the root must end with a slash."""
    return url if url.endswith("/") else url + "/"
