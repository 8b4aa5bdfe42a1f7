"""Gateway settings, from `SEGMENTS_GATEWAY_*` environment variables (plus the `TEMPORAL_*` ones).

Bearer tokens are each bound to one tenant: `SEGMENTS_GATEWAY_TOKENS="tok1=acme,tok2=globex"`
or a file (`SEGMENTS_GATEWAY_TOKENS_FILE`, one `token=tenant` a line, `#` comments). The Slack
signing secret is `SEGMENTS_GATEWAY_SLACK_SIGNING_SECRET`: outside `SEGMENTS_SECRET_*`, the namespace
that definitions name secrets in, so a worker sharing the environment cannot hand it out. So is
the secret that signs run page links, `SEGMENTS_GATEWAY_UI_LINK_SECRET` (shared with whoever runs
`segments open`); without it the gateway signs page sessions with a random per-process key and
refuses links.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from activities.notify.settings import SLACK_DEFAULT_BASE_URL
from client.settings import ConnectionSettings
from client.ui_links import LINK_SECRET_VARIABLE
from gateway.identity import parse_identity

PREFIX = "SEGMENTS_GATEWAY_"
DEFAULT_MAX_BODY = 1_000_000
DEFAULT_SLACK_RESPONSE_PREFIX = "https://hooks.slack.com/"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


def parse_pairs(text: str, variable: str) -> dict[str, str]:
    """`"a=x,b=y"` (or one pair a line) -> {"a": "x", "b": "y"}."""
    pairs: dict[str, str] = {}
    for raw in text.replace("\n", ",").split(","):
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SettingsError(f"{variable}: '{item}' is not of the form key=value")
        pairs[key.strip()] = value.strip()
    return pairs


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class GatewaySettings:
    tokens: Mapping[str, str] = field(default_factory=dict)
    """Bearer token -> identity: `tenant`, `tenant/user` or `tenant/service:name` (`gateway.identity`)."""
    act_for: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Service identity -> the users it may answer tasks for (`*`: any); `SEGMENTS_GATEWAY_ACT_FOR`."""
    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY
    definitions_dir: Path | None = None
    """Stored definitions for `segment_ref`: `<dir>/<segment_id>/<version>.json`."""
    slack_signing_secret: str | None = None
    slack_users: Mapping[str, str] = field(default_factory=dict)
    """Slack user id -> responder name. When set, unmapped Slack users cannot answer; when empty,
    the responder is the Slack user id (never the changeable username or display name)."""
    slack_tenant: str | None = None
    """When set, Slack buttons answer only runs of this tenant."""
    slack_response_url_prefixes: tuple[str, ...] = (DEFAULT_SLACK_RESPONSE_PREFIX,)
    """A `response_url` outside these prefixes is never called (no request forgery through it)."""
    slack_max_age_seconds: int = 300
    slack_bot_token: str | None = None
    """`SEGMENTS_GATEWAY_SLACK_BOT_TOKEN`: when set, answered messages are replaced with `chat.update`."""
    slack_api_url: str = SLACK_DEFAULT_BASE_URL
    """`SEGMENTS_GATEWAY_SLACK_API_URL`: the Web API root (tests point it at a stand-in)."""
    triggers_file: Path | None = None
    """Webhook triggers (gateway/triggers.py): trigger id -> stored segment, tenant, secret name."""
    sse_ping_seconds: float = 15.0
    ui_link_secret: str | None = None
    """Verifies run page links (`segments open`) and signs page sessions; shared with the CLI."""
    ui_session_seconds: int = 8 * 3600
    """How long a run page's session cookie stays valid."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        env = environ if environ is not None else os.environ
        tokens = parse_pairs(env.get(PREFIX + "TOKENS", ""), PREFIX + "TOKENS")
        tokens_file = env.get(PREFIX + "TOKENS_FILE")
        if tokens_file:
            try:
                text = Path(tokens_file).read_text()
            except OSError as err:
                raise SettingsError(f"{PREFIX}TOKENS_FILE: cannot read '{tokens_file}': {err}") from None
            tokens.update(parse_pairs(text, PREFIX + "TOKENS_FILE"))
        for value in tokens.values():
            try:
                parse_identity(value, PREFIX + "TOKENS")
            except ValueError as err:
                raise SettingsError(str(err)) from None
        act_for = {
            who: frozenset(u.strip() for u in users.split("|") if u.strip())
            for who, users in parse_pairs(env.get(PREFIX + "ACT_FOR", ""), PREFIX + "ACT_FOR").items()
        }
        definitions = env.get(PREFIX + "DEFINITIONS_DIR")
        triggers = env.get(PREFIX + "TRIGGERS_FILE")
        try:
            max_body = int(env.get(PREFIX + "MAX_BODY_BYTES", DEFAULT_MAX_BODY))
        except ValueError:
            raise SettingsError(f"{PREFIX}MAX_BODY_BYTES must be a number of bytes") from None
        return cls(
            tokens=tokens,
            act_for=act_for,
            connection=ConnectionSettings.from_env(env),
            cors_origins=_list(env.get(PREFIX + "CORS_ORIGINS")),
            max_body_bytes=max_body,
            definitions_dir=Path(definitions) if definitions else None,
            triggers_file=Path(triggers) if triggers else None,
            slack_signing_secret=env.get(PREFIX + "SLACK_SIGNING_SECRET") or None,
            slack_bot_token=env.get(PREFIX + "SLACK_BOT_TOKEN") or None,
            slack_api_url=(env.get(PREFIX + "SLACK_API_URL") or SLACK_DEFAULT_BASE_URL).rstrip("/") + "/",
            slack_users=parse_pairs(env.get(PREFIX + "SLACK_USERS", ""), PREFIX + "SLACK_USERS"),
            slack_tenant=env.get(PREFIX + "SLACK_TENANT") or None,
            slack_response_url_prefixes=_list(env.get(PREFIX + "SLACK_RESPONSE_URL_PREFIXES"))
            or (DEFAULT_SLACK_RESPONSE_PREFIX,),
            ui_link_secret=env.get(LINK_SECRET_VARIABLE) or None,
        )
