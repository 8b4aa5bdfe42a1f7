"""Bearer tokens, each naming a user or a service of one tenant (`gateway.identity`): a token
sees, starts and answers only its tenant's runs, and answers tasks only as whom it names."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.identity import Identity, parse_identity
from gateway.settings import GatewaySettings

_bearer = HTTPBearer(auto_error=False, description="A token bound to one tenant")


def identity_for(settings: GatewaySettings, token: str) -> Identity | None:
    """Who the token names; compares against every token in constant time."""
    found: str | None = None
    for known, who in settings.tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = who
    return parse_identity(found, "SEGMENTS_GATEWAY_TOKENS") if found is not None else None


def tenant_for(settings: GatewaySettings, token: str) -> str | None:
    """The token's tenant."""
    who = identity_for(settings, token)
    return who.tenant if who is not None else None


def current_identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    settings: GatewaySettings = request.app.state.settings
    who = identity_for(settings, credentials.credentials) if credentials else None
    if who is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return who


def current_tenant(who: Annotated[Identity, Depends(current_identity)]) -> str:
    return who.tenant


Tenant = Annotated[str, Depends(current_tenant)]
Caller = Annotated[Identity, Depends(current_identity)]
