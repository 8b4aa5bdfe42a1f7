"""Human tasks inside parallel branches are listed and answered through the root run, and
pause/resume reach the branches."""

import asyncio
import time
from typing import Any

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from tests.conftest import start_segment
from workflows.search_attributes import SEGMENT_ID, TENANT_ID

REVIEW_EACH = {
    "segment_id": "review_each",
    "steps": [
        {"step_id": "fan", "type": "parallel_split", "config": {"items": "input.docs"}},
        {
            "step_id": "review",
            "type": "human_task",
            "config": {"kind": "approval", "title": "Review {% item.name %}", "assignee": "{% item.owner %}"},
        },
        {
            "step_id": "stamp",
            "type": "transform",
            "config": {"expression": "item.name & ': ' & steps.review.output.decision"},
        },
        {"step_id": "gather", "type": "parallel_join"},
    ],
    "edges": [
        {"source": "fan", "target": "review"},
        {"source": "review", "source_port": "approved", "target": "stamp"},
        {"source": "review", "source_port": "rejected", "target": "stamp"},
        {"source": "stamp", "target": "gather"},
    ],
    "output": "{% steps.gather.output.branches %}",
}
DOCS = {"docs": [{"name": "spec", "owner": "ann"}, {"name": "plan", "owner": "bob"}]}


async def _open_tasks(handle: Any, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        status = await handle.query("status")
        if len(status["open_tasks"]) == count:
            return sorted(status["open_tasks"], key=lambda t: t["task_id"])
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} open tasks, status: {status}")
        await asyncio.sleep(0.2)


async def test_branch_tasks_are_listed_and_answered_through_the_root(client: Client, worker: str) -> None:
    handle = await start_segment(client, worker, REVIEW_EACH, DOCS, tenant_id="acme")
    tasks = await _open_tasks(handle, 2)
    assert [(t["task_id"], t["title"], t["assignee"]) for t in tasks] == [
        ("review[0]/review", "Review spec", "ann"),
        ("review[1]/review", "Review plan", "bob"),
    ]
    assert (await handle.query("status"))["phase"] == "waiting_human"

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            "respond", {"task_id": "review[0]/review", "responder": "bob", "decision": "approve"}
        )
    assert "may not answer" in str(refused.value.cause)

    await handle.execute_update(
        "respond", {"task_id": "review[0]/review", "responder": "ann", "decision": "approve"}
    )
    await handle.signal("respond", {"task_id": "review[1]/review", "responder": "bob", "decision": "reject"})
    assert await handle.result() == ["spec: approve", "plan: reject"]
    status = await handle.query("status")
    assert status["open_tasks"] == [] and status["phase"] == "completed"
    # the branches carry the run's search attributes, so a Web UI filter on SegmentId finds them too
    branch = await client.get_workflow_handle(f"{handle.id}/review[1]").describe()
    assert branch.typed_search_attributes.get(SEGMENT_ID) == "review_each"
    assert branch.typed_search_attributes.get(TENANT_ID) == "acme"


async def test_pause_reaches_a_running_branch(client: Client, worker: str) -> None:
    handle = await start_segment(client, worker, REVIEW_EACH, {"docs": [{"name": "spec", "owner": "ann"}]})
    await _open_tasks(handle, 1)
    await handle.signal("pause")
    await handle.execute_update(
        "respond", {"task_id": "review[0]/review", "responder": "ann", "decision": "approve"}
    )
    branch = client.get_workflow_handle(f"{handle.id}/review[0]")
    await asyncio.sleep(1.5)
    done = [s["step_id"] for s in (await branch.query("status"))["steps_done"]]
    assert done == ["review"], "the paused branch must not start 'stamp'"
    await handle.signal("resume")
    assert await handle.result() == ["spec: approve"]
