"""The run page's data: the pinned definition laid out, and the run's live state per step."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, status
from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus

from client.api import SegmentsClient
from gateway.status_query import query_status
from gateway.ui.run_history import ChildRun, RunHistory, read_run_history
from gateway.ui.run_view import BranchStatus, step_states
from segments.graph import SPLIT_TYPE, Graph
from segments.models import SegmentDefinition
from workflows.contract import BRANCH_WORKFLOW

MAX_BRANCHES_QUERIED = 50
BRANCH_QUERY_TIMEOUT = timedelta(seconds=5)
_OPEN = (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW, None)


class FinishedStates:
    """The state of runs that have ended, which never changes again: a closed run's `status`
    query makes a worker replay its whole history, so the page asks once, not on every view.
    An optimisation only: the gateway stays stateless (any replica recomputes it)."""

    def __init__(self, max_items: int = 256, ttl_seconds: float = 600) -> None:
        self.max_items = max_items
        self.ttl = ttl_seconds
        self._items: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def get(self, key: str) -> dict[str, Any] | None:
        found = self._items.get(key)
        if found is None or found[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return found[1]

    def put(self, key: str, state: dict[str, Any]) -> None:
        self._items[key] = (time.monotonic() + self.ttl, state)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)


def definition_of(history: RunHistory, run_id: str) -> SegmentDefinition:
    if history.definition is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"run '{run_id}' holds no readable definition")
    try:
        return SegmentDefinition.from_dict(history.definition)
    except ValueError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"run '{run_id}' started with a definition that does not parse"
        ) from None


async def _branch_status(client: SegmentsClient, run_id: str, child: ChildRun) -> BranchStatus:
    path = child.workflow_id.removeprefix(run_id + "/") + "/"
    try:
        view: dict[str, Any] = await client.handle(child.workflow_id).query(
            "status", rpc_timeout=BRANCH_QUERY_TIMEOUT
        )
    except Exception:  # a branch that cannot answer is shown from its history record only
        view = {}
    return BranchStatus(child, path, view or None)


async def branch_statuses(client: SegmentsClient, run_id: str, history: RunHistory) -> list[BranchStatus]:
    """The branches of the run's splits (not the runs of its subworkflow steps: those run other
    definitions, whose steps are not on this graph)."""
    children = [
        c
        for c in history.children.values()
        if c.workflow_id.startswith(run_id + "/") and c.workflow_type == BRANCH_WORKFLOW
    ]
    return list(
        await asyncio.gather(*(_branch_status(client, run_id, c) for c in children[:MAX_BRANCHES_QUERIED]))
    )


async def run_state(
    client: SegmentsClient,
    run_id: str,
    description: WorkflowExecutionDescription,
    user: str | None,
    finished_states: FinishedStates,
) -> dict[str, Any]:
    finished = description.status not in _OPEN
    key = f"{client.temporal.namespace}/{run_id}/{description.run_id}"
    cached = finished_states.get(key) if finished else None
    if cached is None:
        cached = await _compute_state(client, run_id, description)
        if finished:
            finished_states.put(key, cached)
    return {**cached, "user": user}


async def _compute_state(
    client: SegmentsClient, run_id: str, description: WorkflowExecutionDescription
) -> dict[str, Any]:
    view, history = await asyncio.gather(
        query_status(client, run_id), read_run_history(client, run_id, details=False)
    )
    graph = Graph.build(definition_of(history, run_id))
    branches = await branch_statuses(client, run_id, history)
    finished = description.status not in _OPEN
    states = step_states(graph, view, history, branches, finished)
    temporal_status = description.status.name.lower() if description.status else "unknown"
    return {
        "run_id": run_id,
        "phase": view.get("phase"),
        "temporal_status": temporal_status,
        "finished": finished,
        "error": view.get("error"),
        "steps": {step_id: asdict(state) for step_id, state in states.items()},
        "open_tasks": view.get("open_tasks") or [],
        "closed_tasks": view.get("closed_tasks") or [],
        "branches": [
            {"workflow_id": b.child.workflow_id, "task_path": b.task_path, "state": b.child.state}
            for b in branches
        ],
        "web_ui": client.web_ui_link(run_id),
    }


SUBWORKFLOW_TYPE = "subworkflow"


def _record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("step_id", "visit", "port")}


async def _subworkflow_runs(
    client: SegmentsClient, run_id: str, step_id: str, history: RunHistory
) -> list[dict[str, Any]]:
    """The runs a subworkflow step started (one per visit), each with its own steps, in place."""
    runs = [
        c
        for c in history.children.values()
        if c.workflow_type != BRANCH_WORKFLOW
        and c.workflow_id.startswith(run_id + "/")
        and (c.workflow_id.endswith("/" + step_id) or f"/{step_id}#" in c.workflow_id)
    ][:MAX_BRANCHES_QUERIED]
    statuses = await asyncio.gather(*(_branch_status(client, run_id, c) for c in runs))
    return [
        {
            **asdict(b.child),
            "web_ui": client.web_ui_link(b.child.workflow_id),
            "phase": (b.status or {}).get("phase"),
            "steps": [
                {k: r.get(k) for k in ("step_id", "visit", "port")}
                for r in (b.status or {}).get("steps_done") or []
            ],
        }
        for b in statuses
    ]


async def step_detail(client: SegmentsClient, run_id: str, step_id: str) -> dict[str, Any]:
    """Everything the side panel shows for one step: config, visits with timing, tasks, branches."""
    view, history = await asyncio.gather(query_status(client, run_id), read_run_history(client, run_id))
    definition = definition_of(history, run_id)
    graph = Graph.build(definition)
    step = graph.steps.get(step_id)
    if step is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run '{run_id}' has no step '{step_id}'")
    records = [r for r in view.get("steps_done") or [] if r.get("step_id") == step_id]
    for branch in await branch_statuses(client, run_id, history):
        records.extend(
            {**r, "task_path": branch.task_path}
            for r in (branch.status or {}).get("steps_done") or []
            if r.get("step_id") == step_id
        )
    children = []
    if step.type == SPLIT_TYPE:
        children = [
            {**asdict(c), "web_ui": client.web_ui_link(c.workflow_id)}
            for c in history.children.values()
            if c.workflow_id.startswith(run_id + "/") and c.workflow_type == BRANCH_WORKFLOW
        ]
    elif step.type == SUBWORKFLOW_TYPE:
        children = await _subworkflow_runs(client, run_id, step_id, history)
    return {
        "step_id": step_id,
        "name": step.label,
        "type": step.type,
        "config": step.config,
        "visits": [asdict(v) for v in history.visits if v.step_id == step_id],
        "records": records,
        "running": [r for r in view.get("steps_running") or [] if r.get("step_id") == step_id],
        "open_tasks": [t for t in view.get("open_tasks") or [] if t.get("step_id") == step_id],
        "closed_tasks": [t for t in view.get("closed_tasks") or [] if t.get("step_id") == step_id],
        "branches": children,
    }
