"""Every runnable export of the llmteam corpus, run unchanged on a real Temporal server.

The outside world is tests/standins/llmteam_world.py, answering as llmteam's mocks answered when
the corpus was recorded. Where llmteam's runner is not defective, each prompt, each HTTP body and
the run's output equal llmteam's recording; where it is (ports ignored, errors as data, hangs,
no handler in 2.0), the intended run is asserted instead. llmteam-ai 2.0 runs nothing (no
handler is registered), so its exports are compared with the 5.3 recording of the same drawing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from client.api import SegmentsClient
from segments.builtin_types import default_catalog
from segments.dialects.loader import validate_any
from tests.cli_helpers import run_command, server_address
from tests.llmteam_corpus_support import CORPUS, exports, load, run_named
from tests.standins.llmteam_world import LlmteamWorld
from tests.temporal_binaries import find_binary
from worker import build_components, running_worker

QUEUE = "llmteam-corpus"
REFERENCE = CORPUS / "v5.3"


@pytest.fixture(scope="module")
def world() -> Any:
    with LlmteamWorld() as running:
        yield running


@pytest.fixture(scope="module")
async def corpus_worker(client: Client, world: LlmteamWorld, tmp_path_factory: Any) -> AsyncIterator[str]:
    store = tmp_path_factory.mktemp("definitions")
    (store / "enrich_child").mkdir()
    shutil.copy(CORPUS / "v5.3" / "enrich_child.json", store / "enrich_child" / "1.0.json")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**world.env(), "SEGMENTS_DEFINITIONS_DIR": str(store)}.items():
            patch.setenv(name, value)
        components = build_components(plugins=[])
        async with running_worker(client, QUEUE, components):
            yield QUEUE


@pytest.fixture
def segments(client: Client, corpus_worker: str) -> SegmentsClient:
    return SegmentsClient(client, corpus_worker)


def _since(world: LlmteamWorld) -> tuple[int, int]:
    return len(world.llm.requests), len(world.api.requests)


def _prompts(world: LlmteamWorld, since: tuple[int, int]) -> list[str]:
    return world.llm.prompts()[since[0] :]


def _calls(world: LlmteamWorld, since: tuple[int, int]) -> list[tuple[str, str, Any]]:
    return [(r.method, r.path, r.json() if r.body else None) for r in world.api.requests[since[1] :]]


def _recorded_calls(run: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(c["method"], c["path"], c["json"]) for c in run["http_calls"]]


RUNNABLE = [p for p in exports() if p.stem != "team"]


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_export_validates_except_team(path: Path) -> None:
    assert validate_any(load(path), default_catalog()) == []


@pytest.mark.parametrize("version", ["v2.0", "v2.3", "v5.3"])
async def test_linear(segments: SegmentsClient, world: LlmteamWorld, version: str) -> None:
    run = run_named(REFERENCE / "linear.json", "summarize a complaint")
    since = _since(world)
    result = await segments.run(load(CORPUS / version / "linear.json"), run["input"])
    assert _prompts(world, since) == [c["prompt"] for c in run["llm_calls"]]
    assert _calls(world, since) == _recorded_calls(run)
    assert result == run["output"]


@pytest.mark.parametrize("version", ["v2.0", "v2.3", "v5.3"])
async def test_parallel(segments: SegmentsClient, world: LlmteamWorld, version: str) -> None:
    run = run_named(REFERENCE / "parallel.json", "both branches")
    since = _since(world)
    result = await segments.run(load(CORPUS / version / "parallel.json"), run["input"])
    assert _prompts(world, since) == [c["prompt"] for c in run["llm_calls"]]
    assert _calls(world, since) == _recorded_calls(run)
    assert result == run["output"]


@pytest.mark.parametrize("version", ["v2.0", "v2.3", "v5.3"])
async def test_edge_conditions_take_the_output_edge_where_llmteam_crashed(
    segments: SegmentsClient, world: LlmteamWorld, version: str
) -> None:
    path = CORPUS / version / "edge_conditions.json"
    recorded = run_named(REFERENCE / "edge_conditions.json", "writer registered")
    assert recorded["status"] == "failed"  # llmteam tested `condition: "error"` first, and it raised
    since = _since(world)
    result = await segments.run(load(path), recorded["input"])
    assert _prompts(world, since) == [c["prompt"] for c in recorded["llm_calls"]]
    assert _calls(world, since) == [("POST", "/notes", {"input": "DRAFT: Tea for you."})]
    assert result == {"response": {"id": 42, "saved": True}, "status": 200}


async def _open_tasks(handle: WorkflowHandle[Any, Any], timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        status = await handle.query("status")
        if status["open_tasks"]:
            return list(status["open_tasks"])
        if time.monotonic() > deadline:
            raise AssertionError(f"no open task; status: {status}")
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("version", ["v2.0", "v2.3", "v5.3"])
async def test_human_approval_places_on_approval_and_routes_a_rejection(
    segments: SegmentsClient, world: LlmteamWorld, version: str
) -> None:
    path = CORPUS / version / "human_approval.json"
    approved = run_named(REFERENCE / "human_approval.json", "finance approves")
    since = _since(world)
    handle = await segments.start(load(path), approved["input"])
    (task,) = await _open_tasks(handle)
    assert task["assignee"] == "finance"
    await segments.respond(handle.id, "approve", "finance", decision="approve", comment="ok")
    assert await handle.result() == approved["output"]
    assert _calls(world, since) == _recorded_calls(approved)
    assert run_named(REFERENCE / "human_approval.json", "finance rejects")["status"] == "failed"
    handle = await segments.start(load(path), approved["input"])
    await _open_tasks(handle)
    await segments.respond(handle.id, "approve", "finance", decision="reject", comment="over budget")
    assert await handle.result() == {"output": {"rejected_by": "finance"}}


async def _signal_approve(client: Client, run_id: str, responder: str) -> None:
    answer = {"task_id": "approve", "responder": responder, "decision": "approve", "comment": "ok"}
    done = await run_command(
        find_binary("temporal"), "workflow", "signal", "--address", server_address(client),
        "--workflow-id", run_id, "--name", "respond",
        "--input", json.dumps(answer),
    )  # fmt: skip
    assert done.code == 0, done.stderr


@pytest.mark.parametrize("version", ["v2.0", "v2.3", "v5.3"])
async def test_order_5000_waits_for_approver_and_places_exactly_one_order(
    client: Client, segments: SegmentsClient, world: LlmteamWorld, version: str
) -> None:
    recorded = run_named(REFERENCE / "order_processing.json", "order 5000")
    since = _since(world)
    handle = await segments.start(load(CORPUS / version / "order_processing.json"), recorded["input"])
    (task,) = await _open_tasks(handle)
    assert task["assignee"] == "approver"
    assert _calls(world, since) == []
    await _signal_approve(client, handle.id, "approver")
    assert await handle.result() == recorded["output"]
    assert _calls(world, since) == _recorded_calls(recorded)  # one order, the body llmteam sent


@pytest.mark.parametrize("version", ["v2.0", "v2.3", "v5.3"])
async def test_order_200_places_one_order_without_approval(
    segments: SegmentsClient, world: LlmteamWorld, version: str
) -> None:
    recorded = run_named(REFERENCE / "order_processing.json", "order 200")
    assert recorded["human_requests"]  # llmteam asked for an approval (its runner ignores ports)
    since = _since(world)
    handle = await segments.start(load(CORPUS / version / "order_processing.json"), recorded["input"])
    result = await handle.result()
    status = await handle.query("status")
    assert status["closed_tasks"] == [] and status["open_tasks"] == []
    body = {"input": {"input": {"order": {"id": "A-2", "total": 200}, "total": 200}}}
    assert _calls(world, since) == [("POST", "/orders", body)]
    assert result == {"response": {"order_id": "PO-1", "placed": True}, "status": 200}


@pytest.mark.parametrize("version", ["v2.0", "v2.3", "v5.3"])
async def test_loop_redrafts_where_llmteam_hung(
    segments: SegmentsClient, world: LlmteamWorld, version: str
) -> None:
    path = CORPUS / version / "loop.json"
    assert run_named(REFERENCE / "loop.json", "redraft")["status"] == "hung"
    since = _since(world)
    result = await segments.run(load(path), {"topic": "a slogan for tea"})
    assert _prompts(world, since) == [
        "Write a slogan: a slogan for tea",
        'Write a slogan: {"input": "DRAFT: Tea for you."}',
    ]
    assert result == {"output": {"input": {"input": "FINAL: Tea that tastes like home."}}}


@pytest.mark.parametrize("version", ["v2.3", "v5.3"])
async def test_switch_routes_by_the_matching_case(
    segments: SegmentsClient, world: LlmteamWorld, version: str
) -> None:
    path = CORPUS / version / "switch.json"
    recorded = run_named(path, "support ticket")
    since = _since(world)
    result = await segments.run(load(path), recorded["input"])
    assert _prompts(world, since) == [c["prompt"] for c in recorded["llm_calls"]]
    # llmteam compared the raw target "{input}" and then took the first edge anyway (sales_team)
    assert recorded["step_inputs"].keys() >= {"sales_team"}
    assert result == {"output": {"team": {"input": "support"}}}


@pytest.mark.parametrize("version", ["v2.3", "v5.3"])
async def test_subworkflow_runs_the_stored_llmteam_child(segments: SegmentsClient, version: str) -> None:
    path = CORPUS / version / "subworkflow.json"
    assert run_named(path, "child not registered")["status"] == "failed"
    child = run_named(CORPUS / version / "enrich_child.json", "alone")
    alone = await segments.run(load(CORPUS / version / "enrich_child.json"), child["input"])
    assert alone == child["output"] == {"output": {"customer": "Ada", "tier": "gold"}}
    result = await segments.run(load(path), {"customer": {"name": "Ada", "tier": "gold"}})
    assert result == {"output": {"input": {"customer": "Ada", "tier": "gold"}}}


async def test_raw_order_export_through_temporal_workflow_start_waits_like_the_clients_run(
    client: Client, corpus_worker: str, world: LlmteamWorld, tmp_path: Path
) -> None:
    export = load(CORPUS / "v5.3" / "order_processing.json")
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps({"segment": export, "input": {"order": {"id": "A-9", "total": 5000}}}))
    run_id = f"llmteam-raw-order-{uuid.uuid4().hex[:8]}"
    since = _since(world)
    started = await run_command(
        find_binary("temporal"), "workflow", "start", "--address", server_address(client),
        "--type", "SegmentWorkflow", "--task-queue", corpus_worker, "--workflow-id", run_id,
        "--input-file", str(request_file),
    )  # fmt: skip
    assert started.code == 0, started.stderr
    handle = client.get_workflow_handle(run_id)
    (task,) = await _open_tasks(handle)
    assert task["assignee"] == "approver"
    await _signal_approve(client, run_id, "approver")
    assert await handle.result() == {"response": {"order_id": "PO-1", "placed": True}, "status": 200}
    assert [path for _, path, _ in _calls(world, since)] == ["/orders"]
