"""The `subworkflow` step: a stored segment run as a child `SegmentWorkflow`, its human tasks
answered through the root, nesting bounded, reference cycles refused."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError

from segments.builtin_types import default_catalog
from segments.validation import validate_definition
from tests.conftest import start_segment
from worker import build_components, running_worker
from workflows.search_attributes import SEGMENT_ID, TENANT_ID

QUEUE = "segments-tests-subworkflow"


def _call(step_id: str, segment_id: str, version: str = "1", **config: Any) -> dict[str, Any]:
    ref = {"segment_id": segment_id, "version": version}
    return {"step_id": step_id, "type": "subworkflow", "config": {"segment_ref": ref, **config}}


def _t(step_id: str, expression: str) -> dict[str, Any]:
    return {"step_id": step_id, "type": "transform", "config": {"expression": expression}}


def _chain(segment_id: str, *steps: dict[str, Any], version: str = "1") -> dict[str, Any]:
    ids = [s["step_id"] for s in steps]
    return {
        "segment_id": segment_id,
        "version": version,
        "steps": list(steps),
        "edges": [{"source": a, "target": b} for a, b in pairwise(ids)],
    }


APPROVAL_CHILD = {
    **_chain(
        "credit_check",
        {
            "step_id": "approve",
            "type": "human_task",
            "config": {"kind": "approval", "title": "Credit for {% input.customer %}", "assignee": "risk"},
        },
        _t("done", "{'customer': input.customer, 'decision': steps.approve.output.decision}"),
    ),
    "edges": [{"source": "approve", "source_port": "approved", "target": "done"}],
}
STORE: dict[str, dict[str, Any]] = {
    "credit_check": APPROVAL_CHILD,
    # a -> b -> c -> d: four levels below the root
    "a": _chain("a", _call("next", "b")),
    "b": _chain("b", _call("next", "c")),
    "c": _chain("c", _call("next", "d")),
    "d": _chain("d", _t("leaf", "'deep'")),
    # ping -> pong -> ping: a cycle
    "ping": _chain("ping", _call("next", "pong")),
    "pong": _chain("pong", _call("next", "ping")),
}


@pytest.fixture(scope="module")
async def sub_worker(client: Client, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    store = tmp_path_factory.mktemp("definitions")
    for segment_id, definition in STORE.items():
        (store / segment_id).mkdir()
        (store / segment_id / "1.json").write_text(json.dumps(definition))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMENTS_DEFINITIONS_DIR", str(store))
        patch.setenv("SEGMENTS_SUBWORKFLOW_MAX_DEPTH", "3")
        components = build_components(plugins=[])
    async with running_worker(client, QUEUE, components):
        yield QUEUE


async def _open_tasks(handle: Any, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        status = await handle.query("status")
        if status["open_tasks"]:
            return list(status["open_tasks"])
        if time.monotonic() > deadline:
            raise AssertionError(f"no open task; status: {status}")
        await asyncio.sleep(0.2)


async def _failure(handle: Any) -> str:
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    return str(caught.value.cause)


async def test_a_human_task_inside_the_child_is_answered_through_the_root(
    client: Client, sub_worker: str
) -> None:
    parent = _chain(
        "order",
        _t("prep", "{'customer': input.name}"),
        _call("check", "credit_check"),
        _t("after", "{'from': prev_step, 'child': prev}"),
    )
    handle = await start_segment(client, sub_worker, parent, {"name": "ACME"}, tenant_id="acme")
    (task,) = await _open_tasks(handle)
    assert (task["task_id"], task["title"], task["assignee"]) == ("check/approve", "Credit for ACME", "risk")
    assert (await handle.query("status"))["phase"] == "waiting_human"
    child = client.get_workflow_handle(f"{handle.id}/check")
    attributes = (await child.describe()).typed_search_attributes
    assert attributes.get(TENANT_ID) == "acme" and attributes.get(SEGMENT_ID) == "order"
    await handle.execute_update(
        "respond", {"task_id": "check/approve", "responder": "risk", "decision": "approve"}
    )
    assert await handle.result() == {
        "after": {"from": "check", "child": {"done": {"customer": "ACME", "decision": "approve"}}}
    }


async def test_nesting_is_bounded(client: Client, sub_worker: str) -> None:
    """The worker allows 3 levels below the root; root -> a -> b -> c -> d is four."""
    handle = await start_segment(client, sub_worker, _chain("root", _call("first", "a")))
    message = await _failure(handle)
    assert "would nest subworkflows 4 deep" in message and "bound of 3" in message
    assert "root@1 → a@1 → b@1 → c@1 → d@1" in message
    shallow = await start_segment(client, sub_worker, _chain("root", _call("first", "c")))
    assert await shallow.result() == {"first": {"next": {"leaf": "deep"}}}


async def test_a_reference_cycle_fails_clearly(client: Client, sub_worker: str) -> None:
    handle = await start_segment(client, sub_worker, STORE["ping"])
    message = await _failure(handle)
    assert "reference cycle (ping@1 → pong@1 → ping@1)" in message


async def test_a_missing_definition_fails_the_step_without_retries(client: Client, sub_worker: str) -> None:
    handle = await start_segment(client, sub_worker, _chain("root", _call("first", "nowhere", "9")))
    assert "no stored definition nowhere/9.json" in await _failure(handle)


def test_subworkflow_validation_and_catalog(tmp_path: Path) -> None:
    catalog = default_catalog()
    bad = _chain("root", _call("first", "../etc", "1"))
    (problem,) = validate_definition(bad, catalog)
    assert problem.path == "steps[0].config.segment_ref.segment_id"
    itself = _chain("ping", _call("again", "ping"))
    assert [str(p) for p in validate_definition(itself, catalog)] == [
        "steps[0].config.segment_ref: refers to this segment itself (ping@1): a reference cycle"
    ]
    exported = {t["type_id"]: t for t in catalog.export_for_ui()["step_types"]}["subworkflow"]
    assert exported["output_ports"] == ["out", "error"]
    assert "segment_ref" in exported["config_schema"]["properties"]
