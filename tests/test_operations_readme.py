"""The README's schedule and trigger commands, run as written against a real server and worker
(and, for triggers, the real `segments gateway` process the README starts)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from examples.standins import Standins, serve_standins
from gateway.triggers import signature
from tests.cli_helpers import free_port
from tests.readme_blocks import ROOT, readme_blocks, run_block, shell_env
from worker import build_components, running_worker


async def eventually(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.5)


async def test_the_readme_schedule_commands(client: Client, worker: str) -> None:
    (script,) = readme_blocks("Schedules")
    done = await run_block(script, client, worker)
    assert done.code == 0, done.stderr
    for line in (
        "schedule hourly-pricing created",
        "schedule weekday-pricing created",
        "schedule hourly-pricing triggered: one run starts now",
        "schedule hourly-pricing paused",
        "schedule hourly-pricing unpaused",
        "schedule hourly-pricing deleted",
    ):
        assert line in done.stdout, done.stdout
    decoder = json.JSONDecoder()
    listed, _ = decoder.raw_decode(done.stdout, done.stdout.index("[\n"))
    assert {s["schedule_id"] for s in listed} >= {"hourly-pricing", "weekday-pricing"}
    assert all(s["tenant_id"] == "acme" and s["segment_id"] == "pricing_loop" for s in listed)
    described, _ = decoder.raw_decode(done.stdout, done.stdout.index('{\n  "schedule_id"'))
    assert described["every"] == ["PT1H"] and described["overlap"] == "skip"
    assert described["paused"] is False and described["note"] == "unpaused with segments"

    async def triggered_run() -> Any:
        async for run in client.list_workflows("SegmentId = 'pricing_loop' AND TenantId = 'acme'"):
            if run.id.startswith("hourly-pricing") and run.status == WorkflowExecutionStatus.COMPLETED:
                return run
        return None

    run = await eventually(triggered_run)
    assert run is not None, "the triggered schedule started no completed run"
    handle = client.get_workflow_handle(run.id)
    assert (await handle.query("status"))["phase"] == "completed"
    summary = await (await handle.describe()).static_summary()
    assert summary is not None and summary.endswith(" for acme (schedule hourly-pricing)")
    remaining = [
        s async for s in await client.list_schedules() if s.id in ("hourly-pricing", "weekday-pricing")
    ]
    assert remaining == []


@pytest.fixture
async def order_worker(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Standins, str]]:
    async with serve_standins(openai_port=0, api_port=0) as standins:
        for key, value in standins.env().items():
            monkeypatch.setenv(key, value)
        queue = f"triggers-{uuid.uuid4().hex[:6]}"
        async with running_worker(client, queue, build_components(plugins=[])):
            yield standins, queue


async def test_the_readme_trigger_commands(
    client: Client, order_worker: tuple[Standins, str], tmp_path: Path
) -> None:
    standins, queue = order_worker
    files, gateway, send = readme_blocks("Triggers: a webhook starts a run")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    done = await run_block(files, client, queue, cwd=tmp_path)
    assert done.code == 0, done.stderr

    port = free_port()
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        f"cd {tmp_path}\n{gateway.replace('8091', str(port))}",
        env={**os.environ, **shell_env(client, queue)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(tmp_path / "gateway.log").open("wb"),
        start_new_session=True,  # its own process group: the bash and the gateway stop together
    )
    try:
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:

            async def ready() -> bool:
                try:
                    return (await http.get("/openapi.json")).status_code == 200
                except httpx.HTTPError:
                    return False

            started = await eventually(ready, timeout=60)
            assert started, (tmp_path / "gateway.log").read_text()
            sent = await run_block(send.replace("localhost:8091", f"127.0.0.1:{port}"), client, queue)
            assert sent.code == 0, sent.stderr
            first, second = (json.loads(line) for line in sent.stdout.strip().splitlines())
            assert first["created"] is True and second == {**first, "created": False}

            body = json.dumps({"order": {"id": "X"}}).encode()
            stale = str(int(time.time()) - 3600)
            refused = await http.post(
                "/triggers/new-order",
                content=body,
                headers={
                    "X-Segments-Timestamp": stale,
                    "X-Segments-Delivery": "d-stale",
                    "X-Segments-Signature": signature("change-me", stale, "d-stale", body),
                },
            )
            assert refused.status_code == 401 and "older" in refused.json()["detail"]
            now = str(int(time.time()))
            forged = await http.post(
                "/triggers/new-order",
                content=body,
                headers={
                    "X-Segments-Timestamp": now,
                    "X-Segments-Delivery": "d-forged",
                    "X-Segments-Signature": signature("wrong-secret", now, "d-forged", body),
                },
            )
            assert forged.status_code == 401 and "signature" in forged.json()["detail"]
    finally:
        # the README starts the gateway in the background (`&`): the shell may be gone, its group not
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        await process.wait()

    handle = client.get_workflow_handle(first["run_id"])
    result = await handle.result()
    assert result["outcome"] == "placed"
    assert [o["id"] for o in standins.api.orders.records] == ["A-9"]
    assert (await handle.query("status"))["tenant_id"] == "acme"
