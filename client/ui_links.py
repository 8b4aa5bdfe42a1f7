"""Signed links to a run's page on the gateway: who may see which run, until when.

A link carries a ticket `<payload>.<signature>` in its fragment: the payload is base64url JSON
`{"run": run_id, "tenant": tenant, "user": name or null, "exp": unix seconds}` and the signature
is HMAC-SHA256 over the payload with a secret that the gateway and whoever prints links share
(`SEGMENTS_GATEWAY_UI_LINK_SECRET`: outside `SEGMENTS_SECRET_*`, so no definition can name it).
The CLI signs; the gateway verifies and also issues the same kind of ticket as the page's
session cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import quote

DEFAULT_LINK_SECONDS = 15 * 60
LINK_SECRET_VARIABLE = "SEGMENTS_GATEWAY_UI_LINK_SECRET"
MAX_TICKET_LENGTH = 2_000


class BadTicket(ValueError):
    """The ticket is malformed, forged, or expired (the message says which)."""


@dataclass(frozen=True)
class Ticket:
    run_id: str
    tenant: str | None
    user: str | None
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def sign_ticket(secret: str, ticket: Ticket) -> str:
    body = {"run": ticket.run_id, "tenant": ticket.tenant, "user": ticket.user, "exp": ticket.expires}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(secret, payload)}"


def new_ticket(
    secret: str, run_id: str, tenant: str | None, user: str | None, seconds: int = DEFAULT_LINK_SECONDS
) -> str:
    return sign_ticket(secret, Ticket(run_id, tenant, user, int(time.time()) + seconds))


def verify_ticket(secret: str, text: str, now: float | None = None) -> Ticket:
    if len(text) > MAX_TICKET_LENGTH or text.count(".") != 1:
        raise BadTicket("not a run page ticket")
    payload, signature = text.split(".")
    if not hmac.compare_digest(_mac(secret, payload), signature):
        raise BadTicket("the ticket's signature does not match")
    try:
        body = json.loads(_unb64(payload))
        ticket = Ticket(str(body["run"]), body.get("tenant"), body.get("user"), int(body["exp"]))
    except (ValueError, KeyError, TypeError):
        raise BadTicket("not a run page ticket") from None
    if ticket.expires < (time.time() if now is None else now):
        raise BadTicket("the link has expired; ask for a new one (segments open RUN_ID)")
    return ticket


def run_page_link(gateway_url: str, run_id: str, ticket: str) -> str:
    """The ticket goes in the fragment: browsers never send it, so no log or proxy sees it."""
    return f"{gateway_url.rstrip('/')}/ui/runs/{quote(run_id, safe='')}#ticket={ticket}"
