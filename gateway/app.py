"""The application factory: settings in, a FastAPI app out (connects to Temporal on start-up)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from temporalio.service import RPCError

from client.api import SegmentsClient
from gateway.limits import BodySizeLimit
from gateway.routers import catalog, events, graph, redrive, runs, schedules, slack, tasks, triggers
from gateway.settings import GatewaySettings
from gateway.triggers import load_triggers
from gateway.ttl_cache import TtlSet
from gateway.ui import router as run_page

DESCRIPTION = """A thin, stateless HTTP layer over Temporal for canvas platforms and Slack.

Authenticate with `Authorization: Bearer <token>`; each token belongs to one tenant and sees,
starts and answers only that tenant's runs (a run of another tenant is a 404)."""


def create_app(settings: GatewaySettings | None = None, client: SegmentsClient | None = None) -> FastAPI:
    """The gateway. Without `client`, it connects with `settings.connection` when it starts."""
    settings = settings or GatewaySettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.segments is None:
            app.state.segments = await SegmentsClient.connect(settings.connection)
        yield

    app = FastAPI(title="Segment engine gateway", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.segments = client
    app.state.slack_seen = TtlSet(ttl_seconds=settings.slack_max_age_seconds * 2)
    app.state.ui_secret = settings.ui_link_secret or secrets.token_urlsafe(32)
    for router in (catalog.router, runs.router, tasks.router, events.router, slack.router, graph.router):
        app.include_router(router)
    app.include_router(run_page.router)
    app.mount("/ui/assets", StaticFiles(directory=run_page.ASSETS), name="run page assets")
    for router in (redrive.router, schedules.router, triggers.router):
        app.include_router(router)
    app.state.triggers = load_triggers(settings.triggers_file)

    @app.exception_handler(RPCError)
    async def temporal_unavailable(request: Request, err: RPCError) -> JSONResponse:
        return JSONResponse({"detail": f"Temporal: {err.message}"}, status_code=503)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
