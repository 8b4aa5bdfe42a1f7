"""Who is looking at a run page: a signed link, the page's session cookie, or a tenant's token.

The link `segments open` prints is `/ui/runs/{id}#ticket=…`: the ticket sits in the fragment,
which browsers never send, so it stays out of access logs, proxies and Referer headers. The
page's script posts it once to `/ui/runs/{id}/session`; that, or a tenant's bearer token on the
page itself, sets an HttpOnly cookie holding a fresh signed ticket scoped to that run's page
path, and the page's own requests (state, events, answers) carry the cookie. A ticket names the run, its
tenant, and optionally the user it answers tasks as. Anything else is a 401; a ticket or token
for another run or tenant is the same 404 as a run that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import HTTPException, Request, Response, status

from client.ui_links import BadTicket, Ticket, new_ticket, verify_ticket
from gateway.auth import identity_for
from gateway.runs_access import not_found
from gateway.settings import GatewaySettings

COOKIE = "segments_ui"
CSRF_HEADER = "X-Segments-UI"


@dataclass(frozen=True)
class Viewer:
    run_id: str
    tenant: str | None
    user: str | None
    fresh_cookie: str | None = None
    """Set when the viewer came with a link or a token: the session ticket to store."""


def page_path(run_id: str) -> str:
    return f"/ui/runs/{quote(run_id, safe='')}"


def ui_secret(request: Request) -> str:
    secret: str = request.app.state.ui_secret
    return secret


def _from_ticket(request: Request, run_id: str, text: str) -> Ticket:
    try:
        ticket = verify_ticket(ui_secret(request), text)
    except BadTicket as err:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(err)) from None
    if ticket.run_id != run_id:
        raise not_found(run_id)
    return ticket


def from_link(request: Request, run_id: str, text: str) -> Viewer:
    """The viewer a link's ticket names, with a session cookie to store (401 forged or expired)."""
    settings: GatewaySettings = request.app.state.settings
    ticket = _from_ticket(request, run_id, text)
    return _fresh(request, settings, ticket.run_id, ticket.tenant, ticket.user)


def viewer(request: Request, run_id: str) -> Viewer:
    """The caller of a page request; raises 401 without any credential."""
    settings: GatewaySettings = request.app.state.settings
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        who = identity_for(settings, token.strip())
        if who is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required")
        return _fresh(request, settings, run_id, who.tenant, who.user)  # a user token answers as its user
    cookie = request.cookies.get(COOKIE)
    if cookie:
        ticket = _from_ticket(request, run_id, cookie)
        return Viewer(ticket.run_id, ticket.tenant, ticket.user)
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "open this page with the link `segments open RUN_ID` prints, or send a tenant's bearer token",
    )


def _fresh(
    request: Request, settings: GatewaySettings, run_id: str, tenant: str | None, user: str | None
) -> Viewer:
    cookie = new_ticket(ui_secret(request), run_id, tenant, user, settings.ui_session_seconds)
    return Viewer(run_id, tenant, user, fresh_cookie=cookie)


def store_session(response: Response, request: Request, who: Viewer) -> None:
    if who.fresh_cookie is None:
        return
    settings: GatewaySettings = request.app.state.settings
    response.set_cookie(
        COOKIE,
        who.fresh_cookie,
        max_age=settings.ui_session_seconds,
        path=page_path(who.run_id),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def require_page_header(request: Request) -> None:
    """Answers come from the page's own script, which sends this header; a form on another site
    cannot (and a cross-site script would need a CORS preflight the gateway does not grant)."""
    if request.headers.get(CSRF_HEADER) != "1":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"send the header {CSRF_HEADER}: 1")
