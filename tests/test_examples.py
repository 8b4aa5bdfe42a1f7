"""The support-ticket example end to end: real dev server, real worker, the example stand-ins."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from examples.standins import Standins, serve_standins
from tests.conftest import start_segment
from worker import build_components, running_worker

EXAMPLES = Path(__file__).parent.parent / "examples"
TICKETS_TOKEN = "tickets-canary-51c0ffee"
CALM_TICKET = {
    "ticket": {
        "customer": "bob",
        "subject": "Question about my invoice",
        "body": "Hi, I was wondering why my last invoice shows two charges. No rush.",
    }
}


@pytest.fixture
async def standins() -> AsyncIterator[Standins]:
    async with serve_standins(openai_port=0, api_port=0, tickets_token=TICKETS_TOKEN) as running:
        yield running


@pytest.fixture
async def example_queue(
    client: Client, standins: Standins, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """A worker configured exactly as `python -m examples.standins` tells the demo to."""
    for name, value in standins.env().items():
        monkeypatch.setenv(name, value)
    queue = f"examples-{uuid.uuid4().hex[:6]}"
    async with running_worker(client, queue, build_components(plugins=[])):
        yield queue


def load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


async def test_urgent_ticket_becomes_one_p1_ticket(
    client: Client, standins: Standins, example_queue: str
) -> None:
    handle = await start_segment(
        client, example_queue, load("support_ticket.json"), load("support_ticket.input.json")
    )
    result = await handle.result()
    assert result["triage"] == {
        "category": "technical",
        "urgency": "high",
        "summary": "Checkout is down for all our customers",
    }
    assert result["ticket"]["id"] == "T-1001"
    assert result["ticket"]["routing"] == {"priority": "P1", "queue": "on-call"}
    assert result["ticket"]["customer"] == "acme-shop"
    posts = [r for r in standins.api.received if (r.method, r.path) == ("POST", "/tickets")]
    assert [(r.authorization, r.status) for r in posts] == [(f"Bearer {TICKETS_TOKEN}", 201)]
    assert standins.api.tickets.records == [result["ticket"]]
    steps = {s["step_id"] for s in (await handle.query("status"))["steps_done"]}
    assert "p1" in steps and "normal" not in steps


async def test_calm_ticket_takes_the_normal_route(
    client: Client, standins: Standins, example_queue: str
) -> None:
    handle = await start_segment(client, example_queue, load("support_ticket.json"), CALM_TICKET)
    result = await handle.result()
    assert result["triage"]["category"] == "billing"
    assert result["ticket"]["routing"] == {"priority": "P4", "queue": "billing"}
    assert len(standins.api.tickets.records) == 1


async def test_the_standins_module_runs_and_hands_over_its_environment(tmp_path: Path) -> None:
    """`python -m examples.standins --env-file` (what scripts/demo.sh runs) serves and writes the env."""
    env_file = tmp_path / "standins.env"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "examples.standins",
            "--openai-port",
            "0",
            "--api-port",
            "0",
            "--env-file",
            str(env_file),
        ],
        cwd=EXAMPLES.parent,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for _ in range(100):
            if env_file.exists():
                break
            await asyncio.sleep(0.1)
        lines = env_file.read_text().splitlines()
        env = dict(line.removeprefix("export ").split("=", 1) for line in lines)
        assert env["SEGMENTS_HTTP_ALLOW"] == "127.0.0.1"
        async with httpx.AsyncClient() as http:
            listing = await http.get(
                f"{env['SEGMENTS_ENV_ERP_URL']}/orders",
                headers={"Authorization": f"Bearer {env['SEGMENTS_SECRET_ERP_TOKEN']}"},
            )
        assert listing.status_code == 200 and listing.json() == []
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert not env_file.exists()
