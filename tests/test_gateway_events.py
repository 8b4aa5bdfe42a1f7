"""SSE from the run's Temporal history: every step in order, live, resumable by Last-Event-ID."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.gateway_support import (
    ACME,
    APPROVAL_SEGMENT,
    BIG_ORDER,
    Gateway,
    eventually,
    gateway_fixture,  # noqa: F401  (the `gateway` fixture)
    read_events,
)


def _steps(events: list[dict[str, Any]]) -> list[str]:
    """`type:step_id` of the step and task events, in stream order."""
    out = []
    for event in events:
        data = event["data"]
        if event["event"].startswith(("step.", "task.")):
            out.append(f"{event['event']}:{data.get('step_id') or data.get('task_id')}")
        elif event["event"] == "run.finished":
            out.append(f"run.finished:{data['phase']}")
    return out


def _key(sse_id: str) -> tuple[int, int]:
    head, _, tail = sse_id.partition(".")
    return int(head), int(tail or 0)


async def test_sse_shows_every_step_in_order_live_and_resumes(gateway: Gateway) -> None:
    async with gateway.http(ACME) as http:
        started = await http.post("/runs", json={"segment": APPROVAL_SEGMENT, "input": BIG_ORDER})
        run_id = started.json()["run_id"]
        live = asyncio.create_task(read_events(http, run_id, until="run.finished"))
        tasks = await eventually(lambda: _open_tasks(http, run_id))
        assert tasks == ["approve"]
        assert not live.done()  # the stream waits on the run's history
        answer = {"responder": "alice", "decision": "approve"}
        assert (await http.post(f"/runs/{run_id}/tasks/approve", json=answer)).status_code == 200
        events = await asyncio.wait_for(live, 30)

    assert _steps(events) == [
        "step.completed:total",
        "step.completed:big",
        "task.opened:approve",
        "task.answered:approve",
        "step.completed:approve",
        "step.completed:place",
        "run.finished:completed",
    ]
    by_type = {e["event"]: e["data"] for e in events}
    assert (
        by_type["run.started"]["segment_id"] == "gw_approval"
        and by_type["run.started"]["tenant_id"] == "acme"
    )
    assert by_type["task.answered"]["responder"] == "alice" and by_type["task.answered"]["via"] == "update"
    assert by_type["run.finished"]["result"] == {"placed": True, "total": 150}
    total = next(e["data"] for e in events if e["data"].get("step_id") == "total")
    assert total["name"] == "Total" and total["local"] is True and total["visit"] == 1
    ids = [_key(e["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    # Resume after the task opened: exactly the rest, with the same ids.
    opened = next(e for e in events if e["event"] == "task.opened")
    async with gateway.http(ACME) as http:
        rest = await read_events(http, run_id, headers={"Last-Event-ID": opened["id"]})
    tail = events[events.index(opened) + 1 :]
    assert [(e["id"], e["event"]) for e in rest] == [(e["id"], e["event"]) for e in tail]


async def _open_tasks(http: Any, run_id: str) -> list[str]:
    response = await http.get(f"/runs/{run_id}/tasks")
    return [t["task_id"] for t in response.json()["open_tasks"]]
