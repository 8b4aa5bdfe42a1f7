"""Request-scoped access to the app's Temporal client and settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from client.api import SegmentsClient
from gateway.settings import GatewaySettings


def segments_client(request: Request) -> SegmentsClient:
    client: SegmentsClient | None = getattr(request.app.state, "segments", None)
    if client is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "not connected to Temporal yet")
    return client


def gateway_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


Client = Annotated[SegmentsClient, Depends(segments_client)]
Settings = Annotated[GatewaySettings, Depends(gateway_settings)]
