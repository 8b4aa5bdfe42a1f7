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

A `subworkflow` step's child is a `SegmentWorkflow` too: its board's listener is
`root_listener(root id, its own listener)` and its `respond` signal goes through `branch_respond`,
exactly like a branch's.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio import workflow

from workflows.contract import RESPOND, TASK_EVENT_KINDS, TASK_EVENT_SIGNAL, TaskAnswer, TaskEvent
from workflows.task_board import HumanTask, TaskBoard, TaskListener, refused_entry

__all__ = ["TASK_EVENT_SIGNAL", "branch_board", "branch_respond", "forward", "on_task_event"]


async def _signal(workflow_id: str, name: str, payload: Any) -> None:
    await workflow.get_external_workflow_handle(workflow_id).signal(name, payload)


# --- branch side -------------------------------------------------------------------------


def root_listener(root_workflow_id: str, local: TaskListener | None = None) -> TaskListener:
    """A board listener that signals every task event to the root workflow (after `local`, the
    child's own listener, when it has one: a subworkflow's child run keeps its phase)."""

    async def tell_root(event: str, task: HumanTask) -> None:
        if local is not None:
            result = local(event, task)
            if result is not None:
                await result
        owner = workflow.info().workflow_id
        await _signal(
            root_workflow_id,
            TASK_EVENT_SIGNAL,
            {"event": event, "owner": owner, "task": {**task.view(), "owner": owner}},
        )

    return tell_root


def branch_board(root_workflow_id: str) -> TaskBoard:
    """A board whose every task event is signalled to the root workflow."""
    return TaskBoard(root_listener(root_workflow_id))


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


async def forward(task: HumanTask, answer: TaskAnswer) -> str | None:
    """Sends an answer accepted by the root to the branch that owns the task; returns why it did
    not arrive, or None. A branch that is gone cannot take it: the task's mirror opens again."""
    assert task.owner is not None
    try:
        await _signal(task.owner, RESPOND, answer.to_payload())
    except Exception as err:  # never fail the root's workflow task for a branch that is gone
        task.answer = None
        return f"task '{task.task_id}': the answer did not reach its branch ({type(err).__name__})"
    return None


def parse_task_event(event: Any, root_id: str) -> tuple[TaskEvent, HumanTask | None] | str:
    """The signal checked: of a known kind, from a branch of this run (its workflow id is
    `<root id>/<branch path>`, see workflows/parallel.py), with a well-formed task of that branch.
    Otherwise why it is refused."""
    if not isinstance(event, dict):
        return "a task event is a JSON object"
    kind, owner = event.get("event"), event.get("owner")
    if kind not in TASK_EVENT_KINDS:
        return f"unknown task event {str(kind)[:40]!r}"
    if not isinstance(owner, str) or not owner.startswith(f"{root_id}/"):
        return f"task event from {str(owner)[:200]!r}, which is not a branch of this run"
    view = event.get("task")
    task = None
    if view is not None:
        try:
            task = HumanTask.from_view(view)
        except ValidationError as err:
            return f"malformed task in a task event ({err.error_count()} problems)"
        if f"{root_id}/{task.task_id.rpartition('/')[0]}" != owner or task.owner not in (None, owner):
            return f"task event about task {task.task_id[:200]!r}, which branch {owner[:200]!r} does not run"
        task.owner = owner
    elif kind != "refused":
        return f"a '{kind}' task event without its task"
    checked = TaskEvent(event=kind, owner=owner, task=view)
    given = event.get("refusal")
    if isinstance(given, dict):
        checked["refusal"] = refused_entry(given, str(given.get("reason"))[:500], str(given.get("at"))[:40])
    elif task is None:
        return "a 'refused' task event with neither its task nor the refusal"
    return checked, task


async def on_task_event(board: TaskBoard, event: Any, root_id: str) -> None:
    """The root's handler of `TASK_EVENT_SIGNAL`: keeps the mirror of a branch's task. A malformed
    event, or one from a workflow that is not a branch of this run, is refused visibly."""
    parsed = parse_task_event(event, root_id)
    if isinstance(parsed, str):
        board.refuse_event(event, parsed)
        return
    checked, incoming = parsed
    kind = checked["event"]
    refusal = checked.get("refusal")
    if incoming is None:
        if refusal is not None:
            board.add_refused(refusal)
        return
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
        if refusal is not None:
            board.add_refused(refusal)
