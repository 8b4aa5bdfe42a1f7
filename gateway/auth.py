"""Bearer tokens, each bound to one tenant: a token sees, starts and answers only its tenant's runs."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.settings import GatewaySettings

_bearer = HTTPBearer(auto_error=False, description="A token bound to one tenant")


def tenant_for(settings: GatewaySettings, token: str) -> str | None:
    """The token's tenant; compares against every token in constant time."""
    found: str | None = None
    for known, tenant in settings.tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = tenant
    return found


def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    settings: GatewaySettings = request.app.state.settings
    tenant = tenant_for(settings, credentials.credentials) if credentials else None
    if tenant is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return tenant


Tenant = Annotated[str, Depends(current_tenant)]
