"""Deterministic stand-ins of the outside world for the examples, on 127.0.0.1.

- port 8701: an OpenAI-compatible `POST /v1/chat/completions` that classifies support tickets
  by keywords (`examples.standins.openai_api`);
- port 8702: a tickets and ERP API (`examples.standins.business_api`).

`python -m examples.standins` serves both and prints the worker's environment (`env()`);
tests start them in-process with `serve_standins(openai_port=0, api_port=0)`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from examples.standins.business_api import BusinessApi
from examples.standins.openai_api import openai_app

HOST = "127.0.0.1"
OPENAI_PORT = 8701
API_PORT = 8702
OPENAI_KEY = "sk-standin-demo"
TICKETS_TOKEN = "demo-tickets-token"
ERP_TOKEN = "demo-erp-token"


@dataclass
class Standins:
    """The running stand-ins: their ports, the business API's records, the worker's environment."""

    openai_port: int
    api_port: int
    api: BusinessApi
    openai_key: str

    def env(self) -> dict[str, str]:
        """What a worker needs to run the examples against these stand-ins."""
        api_url = f"http://{HOST}:{self.api_port}"
        return {
            "OPENAI_BASE_URL": f"http://{HOST}:{self.openai_port}/v1",
            "OPENAI_API_KEY": self.openai_key,
            "SEGMENTS_ENV_TICKETS_URL": api_url,
            "SEGMENTS_ENV_ERP_URL": api_url,
            "SEGMENTS_SECRET_TICKETS_TOKEN": self.api.tickets_token,
            "SEGMENTS_SECRET_TICKETS_TOKEN_HOSTS": f"{HOST}:{self.api_port}",
            "SEGMENTS_SECRET_ERP_TOKEN": self.api.erp_token,
            "SEGMENTS_SECRET_ERP_TOKEN_HOSTS": f"{HOST}:{self.api_port}",
            "SEGMENTS_HTTP_ALLOW": HOST,
            # llmteam exports (examples/llmteam_order.json) name endpoints and models by ref
            "SEGMENTS_CONNECTION_ERP": json.dumps(
                {"base_url": api_url, "auth": {"type": "bearer", "secret": "ERP_TOKEN"}}
            ),
            "SEGMENTS_MODEL_DEFAULT": "openai:gpt-4o-mini",
        }


@contextlib.asynccontextmanager
async def serve_standins(
    openai_port: int = OPENAI_PORT,
    api_port: int = API_PORT,
    *,
    openai_key: str = OPENAI_KEY,
    tickets_token: str = TICKETS_TOKEN,
    erp_token: str = ERP_TOKEN,
) -> AsyncIterator[Standins]:
    """Both stand-ins, listening for the duration of the block (port 0: any free port)."""
    api = BusinessApi(tickets_token=tickets_token, erp_token=erp_token)
    runners: list[web.AppRunner] = []
    try:
        ports = []
        for app, port in ((openai_app(openai_key), openai_port), (api.app(), api_port)):
            runner = web.AppRunner(app, access_log=None)
            runners.append(runner)
            await runner.setup()
            await web.TCPSite(runner, HOST, port).start()
            ports.append(int(runner.addresses[0][1]))
        yield Standins(openai_port=ports[0], api_port=ports[1], api=api, openai_key=openai_key)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
