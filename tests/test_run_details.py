"""A run explains itself in the Temporal Web UI, read through the client as the Web UI reads it:
the static summary and details of `describe`, the current details of the
`__temporal_workflow_metadata` query, and the summary on every activity and timer event."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowHandle

from client.api import SegmentsClient
from examples.standins import Standins, serve_standins
from segments.hashing import definition_hash
from worker import build_components, running_worker

ROOT = Path(__file__).parent.parent
ORDER = json.loads((ROOT / "examples" / "order_processing.json").read_text())
ORDER_INPUT = json.loads((ROOT / "examples" / "order_processing.input.json").read_text())
STEP_IDS = {step["step_id"] for step in ORDER["steps"]}


@pytest.fixture
async def order_queue(client: Client, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    async with serve_standins(openai_port=0, api_port=0) as standins:
        _use_env(standins, monkeypatch)
        queue = f"details-{uuid.uuid4().hex[:6]}"
        async with running_worker(client, queue, build_components(plugins=[])):
            yield queue


def _use_env(standins: Standins, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in standins.env().items():
        monkeypatch.setenv(key, value)


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def wait_for_details(handle: WorkflowHandle[Any, Any], needle: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    details = ""
    while time.monotonic() < deadline:
        try:
            details = await current_details(handle)
        except Exception:  # the worker has not answered the first query yet
            details = ""
        if needle in details:
            return details
        await asyncio.sleep(0.3)
    raise AssertionError(f"current details never showed {needle!r}; last:\n{details}")


async def test_a_waiting_run_says_who_must_answer_and_what_to_send(client: Client, order_queue: str) -> None:
    segments = SegmentsClient(client, order_queue)
    handle = await segments.start(ORDER, ORDER_INPUT, tenant_id="acme")

    description = await handle.describe()
    assert await description.static_summary() == "Order processing v1.1.0 for acme"
    static = await description.static_details() or ""
    assert "`order_processing` version `1.1.0`" in static
    assert "`acme`" in static and definition_hash(ORDER) in static

    details = await wait_for_details(handle, "Send signal")
    assert "**Phase:** waiting_human" in details
    assert "validate → inventory → in_stock → big_order" in details
    assert "the group (finance-anna, finance-ben)" in details
    assert "Approve order A-2002" in details
    assert "deadline 20" in details  # an ISO timestamp
    assert f"segments approve {handle.id} approve --as finance-anna" in details
    block = re.search(r"name `respond`, input:\n\n```json\n(.*?)\n```", details, re.S)
    assert block is not None, details
    pasted = json.loads(block.group(1))
    assert pasted == {"task_id": "approve", "responder": "finance-anna", "decision": "approve"}

    # what the details say to paste into "Send signal" is an answer the run accepts
    await handle.signal("respond", pasted)
    result = await handle.result()
    assert result["outcome"] == "placed"
    finished = await current_details(handle)
    assert "**Phase:** completed" in finished and "Send signal" not in finished


async def test_every_activity_and_timer_of_the_order_example_names_its_step(
    client: Client, order_queue: str
) -> None:
    segments = SegmentsClient(client, order_queue)
    handle = await segments.start(ORDER, ORDER_INPUT)
    await wait_for_details(handle, "Send signal")
    await segments.respond(handle.id, "approve", "finance-ben", decision="approve")
    await handle.result()

    converter = client.data_converter.payload_converter
    summaries: dict[str, list[str]] = {}
    async for event in handle.fetch_history_events():
        kind = EventType.Name(event.event_type)
        if kind not in (
            "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
            "EVENT_TYPE_TIMER_STARTED",
            "EVENT_TYPE_MARKER_RECORDED",
        ):
            continue
        if kind == "EVENT_TYPE_MARKER_RECORDED" and event.marker_recorded_event_attributes.marker_name != (
            "core_local_activity"
        ):
            continue  # patch markers are not activities
        assert event.user_metadata.HasField("summary"), f"{kind} (event {event.event_id}) has no summary"
        summary = converter.from_payload(event.user_metadata.summary, str)
        summaries.setdefault(kind, []).append(summary)

    step_summaries = [s for values in summaries.values() for s in values if not s.startswith("$env · ")]
    for summary in step_summaries:
        step, _, why = summary.partition(" · ")
        assert step in STEP_IDS and why, f"summary {summary!r} does not name a step and why"
    activities = summaries["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"]
    assert "inventory · Check inventory" in activities and "place · Place order" in activities
    assert "validate · Validate" in summaries["EVENT_TYPE_MARKER_RECORDED"]
    assert summaries["EVENT_TYPE_TIMER_STARTED"] == ["approve · SLA warning"]
