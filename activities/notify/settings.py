"""Worker settings of the notification channels, from `SEGMENTS_*` environment variables.

The worker's own credentials (the Slack bot token, the SMTP password) have names of their own,
outside `SEGMENTS_SECRET_*`: a definition can name any secret there, so no definition can ever
ask for these. They are kept out of `repr`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

SLACK_DEFAULT_BASE_URL = "https://slack.com/api/"
SLACK_BOT_TOKEN_SETTING = "SEGMENTS_SLACK_BOT_TOKEN"
SMTP_PASSWORD_SETTING = "SEGMENTS_SMTP_PASSWORD"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class NotifySettings:
    slack_base_url: str = SLACK_DEFAULT_BASE_URL
    """`SEGMENTS_SLACK_BASE_URL`: the Web API root; tests point it at a local stand-in."""
    slack_bot_token: str | None = field(default=None, repr=False)
    """`SEGMENTS_SLACK_BOT_TOKEN`: the bot token (`xoxb-...`); Slack notifications fail without it."""
    smtp_host: str | None = None
    """`SEGMENTS_SMTP_HOST`: the relay; email notifications fail (non-retryable) without it."""
    smtp_port: int = 25
    """`SEGMENTS_SMTP_PORT`."""
    smtp_from: str = "segments@localhost"
    """`SEGMENTS_SMTP_FROM`: the From address; its domain also ends each Message-ID."""
    smtp_user: str | None = None
    """`SEGMENTS_SMTP_USER`: when set, the worker logs in with it and the password secret."""
    smtp_password: str | None = field(default=None, repr=False)
    """`SEGMENTS_SMTP_PASSWORD`: the password that goes with `SEGMENTS_SMTP_USER`."""
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

        _warn_renamed(env)
        return cls(
            slack_base_url=_with_slash(get("SEGMENTS_SLACK_BASE_URL") or default.slack_base_url),
            slack_bot_token=get(SLACK_BOT_TOKEN_SETTING),
            smtp_host=get("SEGMENTS_SMTP_HOST"),
            smtp_port=int(get("SEGMENTS_SMTP_PORT") or default.smtp_port),
            smtp_from=get("SEGMENTS_SMTP_FROM") or default.smtp_from,
            smtp_user=get("SEGMENTS_SMTP_USER"),
            smtp_password=get(SMTP_PASSWORD_SETTING),
            smtp_starttls=_flag(get("SEGMENTS_SMTP_STARTTLS"), default.smtp_starttls),
            smtp_ssl=_flag(get("SEGMENTS_SMTP_SSL"), default.smtp_ssl),
            timeout_s=float(get("SEGMENTS_NOTIFY_TIMEOUT") or default.timeout_s),
        )


def _with_slash(url: str) -> str:
    """The API method is appended to the root (`base_url + "chat.postMessage"`): it must end with a slash."""
    return url if url.endswith("/") else url + "/"


_RENAMED = {
    "SEGMENTS_SECRET_SLACK_BOT_TOKEN": SLACK_BOT_TOKEN_SETTING,
    "SEGMENTS_SECRET_SMTP_PASSWORD": SMTP_PASSWORD_SETTING,
}


def _warn_renamed(env: Mapping[str, str]) -> None:
    """The old names sat in the namespace definitions name secrets in: they are not read any more."""
    for old, new in _RENAMED.items():
        if env.get(old) and not env.get(new):
            logging.getLogger("segments.notify").warning(
                "%s is no longer read: set %s instead (a definition could name the old one)", old, new
            )
