"""Each step's state on the run page, from the run's `status` query, its history and its branches.

States: `pending` (may still run), `running`, `waiting` (a human task of the step is open),
`done`, `failed` (its latest visit failed, or it went out on its `error` port), `skipped` (not
visited, and nothing still active can reach it; every unvisited step once the run has ended).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gateway.ui.run_history import ChildRun, RunHistory
from segments.graph import Graph

FINISHED_PHASES = frozenset({"completed", "failed", "cancelled", "terminated", "timed_out"})


@dataclass
class StepState:
    state: str = "pending"
    visits: int = 0
    instances: list[dict[str, Any]] = field(default_factory=list)
    """Per branch (task path): that branch's visits and state, for steps inside branches."""


@dataclass
class BranchStatus:
    """One branch child: its history record and its own `status` query (None if unavailable)."""

    child: ChildRun
    task_path: str
    status: dict[str, Any] | None


def _reachable(graph: Graph, starts: list[str]) -> set[str]:
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for target in graph.all_targets(queue.popleft()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def step_states(
    graph: Graph,
    status: dict[str, Any],
    history: RunHistory,
    branches: list[BranchStatus],
    finished: bool,
) -> dict[str, StepState]:
    states = {step_id: StepState() for step_id in graph.order}
    records = [r for r in status.get("steps_done") or [] if not r.get("task_path")]
    running = {r.get("step_id") for r in status.get("steps_running") or []}
    waiting = {str(t.get("step_id")) for t in status.get("open_tasks") or []}
    latest_error: dict[str, bool] = {}
    for visit in history.visits:
        if not visit.task_path:
            latest_error[visit.step_id] = visit.error is not None and visit.finished_at is not None
    for record in records:
        state = states.get(str(record.get("step_id")))
        if state is None:
            continue
        state.visits = max(state.visits, int(record.get("visit") or 0))
        latest_error[str(record.get("step_id"))] = record.get("port") == "error"
    for step_id, state in states.items():
        if step_id in running:
            state.state = "running"
            state.visits = max(state.visits, 1)
        elif step_id in waiting:
            state.state = "waiting"
            state.visits = max(state.visits, 1)
        elif latest_error.get(step_id):
            state.state = "failed"
            state.visits = max(state.visits, 1)
        elif state.visits:
            state.state = "done"
    _branch_states(states, branches)
    for step_id in waiting & states.keys():
        states[step_id].state = "waiting"
    active = [s for s, st in states.items() if st.state in ("running", "waiting")]
    alive = _reachable(graph, active)
    for state_id, state in states.items():
        if state.state == "pending" and (finished or (active and state_id not in alive)):
            state.state = "skipped"
    return states


def _branch_states(states: dict[str, StepState], branches: list[BranchStatus]) -> None:
    """Steps inside branches: each branch's visits, and an overall state over the branches."""
    for branch in branches:
        view = branch.status or {}
        done: dict[str, int] = {}
        failed: set[str] = set()
        for record in view.get("steps_done") or []:
            step_id = str(record.get("step_id"))
            done[step_id] = max(done.get(step_id, 0), int(record.get("visit") or 0))
            if record.get("port") == "error":
                failed.add(step_id)
        running = {str(r.get("step_id")) for r in view.get("steps_running") or []}
        for step_id in set(done) | running:
            state = states.get(step_id)
            if state is None:
                continue
            if step_id in running:
                kind = "running"
            elif step_id in failed:
                kind = "failed"
            else:
                kind = "done"
            state.instances.append(
                {
                    "task_path": branch.task_path,
                    "workflow_id": branch.child.workflow_id,
                    "state": kind,
                    "visits": max(done.get(step_id, 0), 1),
                }
            )
    for state in states.values():
        if not state.instances:
            continue
        kinds = {i["state"] for i in state.instances}
        state.visits = max(state.visits, sum(i["visits"] for i in state.instances))
        for kind in ("failed", "waiting", "running"):
            if kind in kinds:
                state.state = kind
                break
        else:
            if state.state == "pending":
                state.state = "done"
