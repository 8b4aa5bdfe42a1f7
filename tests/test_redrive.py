"""Redrive: a failed run continues from the step that failed, and the steps before it are not run
again, counted at the ERP stand-in. The README's commands run as written."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from client.api import SegmentsClient
from client.redrive import RedriveRefused, redrive
from examples.standins import Standins, serve_standins
from tests.readme_blocks import readme_block, run_block
from worker import build_components, running_worker


@pytest.fixture
async def erp(client: Client, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Standins, str]]:
    async with serve_standins(openai_port=0, api_port=0) as standins:
        for key, value in standins.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SEGMENTS_HTTP_BREAKER_FAILURES", "20")  # no cool-down before the redrive
        queue = f"redrive-{uuid.uuid4().hex[:6]}"
        async with running_worker(client, queue, build_components(plugins=[])):
            yield standins, queue


def calls(standins: Standins, method: str, path: str) -> list[int]:
    return [r.status for r in standins.api.received if r.method == method and r.path == path]


async def test_the_readme_redrive_commands_continue_from_the_failed_step(
    client: Client, erp: tuple[Standins, str]
) -> None:
    standins, queue = erp
    script = readme_block("Redrive a failed run").replace("localhost:8702", f"127.0.0.1:{standins.api_port}")
    done = await run_block(script, client, queue)
    assert done.code == 0, done.stderr

    assert "run order-A-7 failed: step 'place' (http_action) failed" in done.stderr
    assert "redriven order-A-7 from step 'place'" in done.stdout
    result = json.loads(done.stdout[done.stdout.index("{\n") :])
    assert result["outcome"] == "placed" and result["erp_order"]["order_id"] == "PO-5001"
    # the steps before `place` ran once; `place` failed its five attempts, then succeeded once
    assert calls(standins, "POST", "/inventory/check") == [200]
    assert calls(standins, "POST", "/orders") == [503] * 5 + [201]
    assert [o["id"] for o in standins.api.orders.records] == ["A-7"]

    runs = [r async for r in client.list_workflows("WorkflowId = 'order-A-7'")]
    statuses = sorted(r.status.name for r in runs if r.status)
    assert statuses == ["COMPLETED", "FAILED"]  # the failed attempt stays in history


async def test_only_a_failed_run_is_redriven(client: Client, erp: tuple[Standins, str]) -> None:
    _, queue = erp
    segment = {
        "segment_id": "ok",
        "steps": [{"step_id": "one", "type": "transform", "config": {"expression": "1"}}],
        "edges": [],
    }
    handle = await SegmentsClient(client, queue).start(segment)
    await handle.result()
    with pytest.raises(RedriveRefused, match="is completed; only a failed run can be redriven"):
        await redrive(client, handle.id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
