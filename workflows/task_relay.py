"""Human tasks of parallel branches, listed and answered through the root workflow.

A branch runs in a child workflow (`SegmentBranchWorkflow`) with its own `TaskBoard`. That
board's listener signals the root (`TASK_EVENT_SIGNAL`) when a task opens, escalates, closes
or refuses a forwarded answer; the root keeps a mirror of the task (with `owner` = the child's
workflow id), lists it in `status`, checks answers against it, and forwards an accepted answer
to the child as a `respond` signal. The child checks it again (an escalation may have crossed
it) and reports a refusal back, so the root shows it in `refused_signals`.

Branch side, in `SegmentBranchWorkflow`:

    self._board = branch_board(request.root_workflow_id)     # before running the interpreter
    self._board.human_steps = {s.step_id for s in definition.steps if s.type == "human_task"}
    interp.human_tasks = self._board

    @workflow.signal(name="respond")
    async def respond(self, payload: dict) -> None:
        await branch_respond(self._board, self._root_id, payload)

Root side: `SegmentWorkflow` handles `TASK_EVENT_SIGNAL` with `on_task_event`.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from workflows.task_board import HumanTask, TaskBoard

TASK_EVENT_SIGNAL = "segments_task_event"
"""Signal from a branch to its root: `{"event", "owner", "task", "refusal"}`."""


async def _signal(workflow_id: str, name: str, payload: dict[str, Any]) -> None:
    await workflow.get_external_workflow_handle(workflow_id).signal(name, payload)


# --- branch side -------------------------------------------------------------------------


def branch_board(root_workflow_id: str) -> TaskBoard:
    """A board whose every task event is signalled to the root workflow."""

    async def tell_root(event: str, task: HumanTask) -> None:
        owner = workflow.info().workflow_id
        await _signal(
            root_workflow_id,
            TASK_EVENT_SIGNAL,
            {"event": event, "owner": owner, "task": {**task.view(), "owner": owner}},
        )

    return TaskBoard(tell_root)


async def branch_respond(board: TaskBoard, root_workflow_id: str, payload: Any) -> None:
    """A branch's `respond` signal: apply it here; a refusal is reported to the root."""
    before = board.refused_total
    board.receive_signal(payload)
    if board.refused_total > before:
        refusal = board.refused[-1]
        task = board.tasks.get(str(refusal.get("task_id")))
        await _signal(
            root_workflow_id,
            TASK_EVENT_SIGNAL,
            {
                "event": "refused",
                "owner": workflow.info().workflow_id,
                "task": task.view() if task else None,
                "refusal": refusal,
            },
        )


# --- root side ---------------------------------------------------------------------------


async def forward(task: HumanTask, payload: dict[str, Any]) -> None:
    """Sends an answer accepted by the root to the branch that owns the task."""
    assert task.owner is not None
    await _signal(task.owner, "respond", payload)


async def on_task_event(board: TaskBoard, event: dict[str, Any]) -> None:
    """The root's handler of `TASK_EVENT_SIGNAL`: keeps the mirror of a branch's task."""
    kind = event.get("event")
    view = event.get("task")
    if not isinstance(view, dict):
        if kind == "refused" and isinstance(event.get("refusal"), dict):
            board.refused.append(event["refusal"])
        return
    incoming = HumanTask.from_view(view)
    mirror = board.tasks.get(incoming.task_id)
    if kind == "opened":
        await board.open_remote(incoming, forward)
    elif kind == "changed" and mirror is not None:
        if mirror.answer is not None and incoming.answer is None:
            incoming.answer = mirror.answer  # an answer on its way to the branch
        board.tasks[incoming.task_id] = incoming
        await board.notify_listener("changed", incoming)
    elif kind == "closed":
        board.tasks[incoming.task_id] = incoming
        await board.notify_listener("closed", incoming)
    elif kind == "refused":
        if mirror is not None and incoming.status == "open":
            mirror.answer = None  # the branch refused what the root forwarded: open again
        if isinstance(event.get("refusal"), dict):
            board.refused.append(event["refusal"])
