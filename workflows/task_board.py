"""The human tasks of one run: what is open, who may answer, and every answer's fate.

A `TaskBoard` lives in the root `SegmentWorkflow` (and one in each parallel-branch child
workflow). It is plain workflow state, rebuilt by replay: answers only arrive through the
`respond` signal and update, so every decision made here is in history.

Answers are never silently lost:
- the update `respond` is checked by its validator (`check`) and refused with a reason; a
  refused update writes nothing to history;
- the signal `respond` is checked the same way; a refused one is kept in `refused` (shown by
  the `status` query as `refused_signals`) and logged;
- an answer for a task that has not opened yet but can still open (its step is a human_task
  of this segment) is buffered (`pending_responses` in `status`) and applied when the task
  opens, checked then like any other; one that can never open is refused at once. The update
  does not buffer: it refuses ("not open yet"), so its caller knows at once.

Tasks of parallel branches live in child workflows; the child tells the root when one opens
or closes (signal `TASK_EVENT_SIGNAL`), so the root lists them, and the root forwards an
accepted answer to the child that owns the task (see `workflows/task_relay.py`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from temporalio import workflow

from segments.schemas import SchemaCheckError, schema_mismatches

TaskStatus = Literal["open", "answered", "timed_out", "cancelled", "failed"]
MAX_REFUSED = 100
MAX_PENDING = 100
_VISIT_SUFFIX = re.compile(r"#\d+$")


@dataclass
class HumanTask:
    """One open (or closed) human task, as `status` lists it."""

    task_id: str
    step_id: str
    kind: str
    title: str
    description: str = ""
    assignee: str | None = None
    assignee_group: list[str] | None = None
    priority: str = "normal"
    deadline: str | None = None
    options: list[dict[str, str]] = field(default_factory=list)
    input_schema: dict[str, Any] | None = None
    level: int = 0
    opened_at: str = ""
    status: TaskStatus = "open"
    answer: dict[str, Any] | None = None
    closed_at: str | None = None
    owner: str | None = None
    """The workflow id of the branch child that runs this task; None for the root's own."""

    def view(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_view(cls, data: dict[str, Any]) -> HumanTask:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def is_open(self) -> bool:
        return self.status == "open" and self.answer is None

    def who(self) -> str:
        """Who may answer, in words."""
        if self.assignee and self.assignee_group:
            return f"{self.assignee} or the group ({', '.join(self.assignee_group)})"
        if self.assignee:
            return self.assignee
        if self.assignee_group:
            return f"the group ({', '.join(self.assignee_group)})"
        return "anyone"


def step_of(task_id: str) -> str:
    """`enrich[2]/approve#2` -> `approve`."""
    return _VISIT_SUFFIX.sub("", task_id.rsplit("/", 1)[-1])


def check_answer(task: HumanTask, payload: dict[str, Any]) -> str | None:
    """Why this answer to an open task is refused, or None when it is acceptable."""
    tid = task.task_id
    responder = payload.get("responder")
    if not isinstance(responder, str) or not responder.strip():
        return f"task '{tid}': 'responder' is required: the user name of who answers"
    allowed = ([task.assignee] if task.assignee else []) + (task.assignee_group or [])
    if allowed and responder not in allowed:
        level = f" (escalated to level {task.level})" if task.level else ""
        return f"task '{tid}': '{responder}' may not answer it; it is assigned to {task.who()}{level}"
    comment = payload.get("comment")
    if comment is not None and not isinstance(comment, str):
        return f"task '{tid}': 'comment' must be a string"
    decision = payload.get("decision")
    if task.kind == "approval" and decision not in ("approve", "reject"):
        return f"task '{tid}' is an approval: 'decision' must be 'approve' or 'reject', not {decision!r}"
    if task.kind == "review" and decision not in (None, "approve", "reject"):
        return f"task '{tid}': 'decision' must be 'approve', 'reject' or absent, not {decision!r}"
    if task.kind == "choice":
        ids = [o["id"] for o in task.options]
        if payload.get("option") not in ids:
            return f"task '{tid}': 'option' must be one of {', '.join(ids)}, not {payload.get('option')!r}"
    if task.kind == "input":
        return _check_data(tid, task.input_schema, payload.get("data"))
    return None


def _check_data(tid: str, schema: dict[str, Any] | None, data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"task '{tid}' is an input task: 'data' must be a JSON object"
    if not schema:
        return None
    try:
        mismatches = schema_mismatches(data, schema)
    except SchemaCheckError as err:
        return f"task '{tid}': data cannot be checked against the input_schema: {err}"
    if not mismatches:
        return None
    lines = "; ".join(m.replace("at $", "data", 1) for m in mismatches)
    return f"task '{tid}': data does not match the input_schema: {lines}"


def closed_reason(task: HumanTask) -> str:
    if task.answer is not None and task.answer.get("responder"):
        by = f" by {task.answer['responder']} at {task.answer.get('responded_at')}"
        return f"task '{task.task_id}' is already closed (answered{by})"
    return f"task '{task.task_id}' is already closed ({task.status.replace('_', ' ')})"


TaskListener = Callable[[str, HumanTask], Awaitable[None] | None]
"""Told `("opened" | "closed", task)`: the workflow refreshes its phase, a branch tells the root."""


class TaskBoard:
    def __init__(self, listener: TaskListener | None = None) -> None:
        self.tasks: dict[str, HumanTask] = {}
        self.refused: list[dict[str, Any]] = []
        self.refused_total = 0
        self.background: list[asyncio.Task[None]] = []
        """Notifications in flight; the run drains them before it completes, so none is dropped."""
        self.pending: list[dict[str, Any]] = []
        self.listener = listener
        self.human_steps: set[str] | None = None
        """Step ids of the segment's human_task steps; None until the definition is known."""

    # --- listing ---------------------------------------------------------------------

    def open_tasks(self) -> list[HumanTask]:
        return [t for t in self.tasks.values() if t.is_open]

    def has_open(self) -> bool:
        return any(t.is_open for t in self.tasks.values())

    def status_fields(self) -> dict[str, Any]:
        closed = [t for t in self.tasks.values() if not t.is_open]
        return {
            "open_tasks": [_listing(t) for t in self.open_tasks()],
            "closed_tasks": [
                {
                    "task_id": t.task_id,
                    "step_id": t.step_id,
                    "status": t.status,
                    "closed_at": t.closed_at,
                    **({k: t.answer.get(k) for k in ("decision", "option", "responder")} if t.answer else {}),
                }
                for t in closed
            ],
            "pending_responses": list(self.pending),
            "refused_signals": list(self.refused),
        }

    # --- checking answers ----------------------------------------------------------

    def check(self, payload: Any) -> str | None:
        """Why an answer is refused now, or None (it may be applied)."""
        if not isinstance(payload, dict):
            return "a response is a JSON object: {task_id, responder, decision | option | data, comment}"
        task_id = payload.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            return "'task_id' is required"
        task = self.tasks.get(task_id)
        if task is None:
            if self.can_open(task_id):
                return f"task '{task_id}' is not open (yet); `status` lists the open tasks"
            return f"no task '{task_id}' in this run; open tasks: {self._open_ids()}"
        if not task.is_open:
            return closed_reason(task)
        return check_answer(task, payload)

    def can_open(self, task_id: str) -> bool:
        """Could a task of this id still open (a later visit, a branch not started yet)?"""
        return self.human_steps is None or step_of(task_id) in self.human_steps

    def _open_ids(self) -> str:
        return ", ".join(t.task_id for t in self.open_tasks()) or "none"

    # --- applying answers ------------------------------------------------------------

    def accept(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Records a checked answer on its task and returns it (as the task's output holds it)."""
        task = self.tasks[payload["task_id"]]
        answer = {
            "decision": payload.get("decision"),
            "option": payload.get("option"),
            "data": payload.get("data"),
            "comment": payload.get("comment"),
            "responder": payload["responder"],
            "responded_at": workflow.now().isoformat(),
        }
        task.answer = answer
        return {"task_id": task.task_id, **answer}

    def receive_signal(self, payload: Any) -> dict[str, Any] | None:
        """The `respond` signal: accept, buffer or refuse visibly; never raises."""
        task_id = payload.get("task_id") if isinstance(payload, dict) else None
        buffer = isinstance(task_id, str) and task_id not in self.tasks and self.can_open(task_id)
        if buffer and len(self.pending) < MAX_PENDING:
            self.pending.append({**payload, "received_at": workflow.now().isoformat()})
            workflow.logger.info("response to task '%s' buffered until the task opens", task_id)
            return None
        reason = self.check(payload)
        if reason is not None:
            self.refuse(payload, reason)
            return None
        assert isinstance(payload, dict)
        return self.accept(payload)

    def refuse(self, payload: Any, reason: str) -> None:
        entry = {
            "task_id": payload.get("task_id") if isinstance(payload, dict) else None,
            "responder": payload.get("responder") if isinstance(payload, dict) else None,
            "reason": reason,
            "at": workflow.now().isoformat(),
        }
        self.refused = [*self.refused, entry][-MAX_REFUSED:]
        self.refused_total += 1
        workflow.logger.warning("refused a respond signal: %s", reason)

    def resolve_pending(self) -> None:
        """Refuses buffered answers whose task can never open (once the definition is known)."""
        keep = []
        for entry in self.pending:
            if self.can_open(entry["task_id"]):
                keep.append(entry)
            else:
                self.refuse(
                    entry,
                    f"no task '{entry['task_id']}' in this run: no human_task step "
                    f"'{step_of(entry['task_id'])}'",
                )
        self.pending = keep

    async def drain(self) -> None:
        """Waits for the notifications still in flight (each ends, sent or failed, on its own)."""
        while self.background:
            pending, self.background = self.background, []
            await asyncio.gather(*pending)

    # --- opening and closing -----------------------------------------------------------

    async def open(self, task: HumanTask) -> None:
        """Lists the task, tells the listener, then applies any answer buffered for it."""
        self.tasks[task.task_id] = task
        await self.notify_listener("opened", task)
        self.apply_pending(task.task_id)

    async def open_remote(
        self, task: HumanTask, forward: Callable[[HumanTask, dict[str, Any]], Awaitable[None]]
    ) -> None:
        """The root learns that a branch opened `task`; buffered answers for it go to the branch."""
        self.tasks[task.task_id] = task
        await self.notify_listener("opened", task)
        for payload in self.apply_pending(task.task_id):
            await forward(task, payload)

    def apply_pending(self, task_id: str) -> list[dict[str, Any]]:
        """Applies buffered answers to a task that just opened, in arrival order; returns those taken."""
        mine = [e for e in self.pending if e["task_id"] == task_id]
        self.pending = [e for e in self.pending if e["task_id"] != task_id]
        taken = []
        for entry in mine:
            payload = {k: v for k, v in entry.items() if k != "received_at"}
            reason = self.check(payload)
            if reason is None:
                self.accept(payload)
                taken.append(payload)
            else:
                self.refuse(payload, reason)
        return taken

    async def close(self, task: HumanTask, status: TaskStatus) -> None:
        if task.status != "open":
            return
        task.status = status
        task.closed_at = workflow.now().isoformat()
        await self.notify_listener("closed", task)

    async def changed(self, task: HumanTask) -> None:
        """The task was escalated: a new assignee and deadline."""
        await self.notify_listener("changed", task)

    def mark_cancelled(self, task: HumanTask) -> None:
        """The task's step was cancelled (synchronous: it runs while the step unwinds)."""
        if task.status == "open":
            task.status = "cancelled"
            task.closed_at = workflow.now().isoformat()

    def cancel_all(self) -> None:
        """The run was cancelled: every task still open, its branches' too, is closed as `cancelled`."""
        for task in self.tasks.values():
            self.mark_cancelled(task)

    async def notify_listener(self, event: str, task: HumanTask) -> None:
        if self.listener is not None:
            result = self.listener(event, task)
            if result is not None:
                await result


def _listing(task: HumanTask) -> dict[str, Any]:
    keys = (
        "task_id",
        "step_id",
        "kind",
        "title",
        "description",
        "assignee",
        "assignee_group",
        "priority",
        "deadline",
        "options",
        "input_schema",
        "level",
        "opened_at",
    )
    view = task.view()
    return {k: view[k] for k in keys}
