"""examples/llmteam_order.json is an unchanged llmteam export; it runs against the example stand-ins
exactly as `bash scripts/demo.sh examples/llmteam_order.json` runs it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from client.api import SegmentsClient
from examples.standins import Standins, serve_standins
from tests.llmteam_corpus_support import CORPUS
from worker import build_components, running_worker

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
async def example_queue(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, Standins]]:
    async with serve_standins(openai_port=0, api_port=0) as standins:
        for name, value in standins.env().items():  # what demo.sh gives the worker
            monkeypatch.setenv(name, value)
        queue = f"llmteam-example-{uuid.uuid4().hex[:6]}"
        async with running_worker(client, queue, build_components(plugins=[])):
            yield queue, standins


def test_the_example_is_an_unchanged_llmteam_export() -> None:
    example = json.loads((EXAMPLES / "llmteam_order.json").read_text())
    assert example == json.loads((CORPUS / "v5.3" / "order_processing.json").read_text())


async def test_the_example_waits_for_approver_then_places_one_order_at_the_erp(
    client: Client, example_queue: tuple[str, Standins]
) -> None:
    queue, standins = example_queue
    segments = SegmentsClient(client, queue)
    example = json.loads((EXAMPLES / "llmteam_order.json").read_text())
    run_input = json.loads((EXAMPLES / "llmteam_order.input.json").read_text())
    handle = await segments.start(example, run_input)
    deadline = time.monotonic() + 60
    tasks: list[dict[str, Any]] = []
    while not tasks and time.monotonic() < deadline:
        tasks = await segments.tasks(handle.id)
        await asyncio.sleep(0.2)
    assert [(t["task_id"], t["assignee"]) for t in tasks] == [("approve", "approver")]
    assert standins.api.orders.records == []
    await segments.respond(handle.id, "approve", "approver", decision="approve")
    result = await handle.result()
    assert result["status"] == 201 and result["response"]["order_id"].startswith("PO-")
    assert len(standins.api.orders.records) == 1
