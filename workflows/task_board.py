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

from pydantic import TypeAdapter
from temporalio import workflow

from activities.notify.contracts import TaskKind
from segments.schemas import SchemaCheckError, schema_mismatches
from workflows.contract import (
    ANSWER_INVALID,
    NOT_ALLOWED,
    TASK_CLOSED,
    TASK_NOT_OPEN,
    AcceptedAnswer,
    BoardView,
    ClosedTaskView,
    OpenTaskView,
    Refusal,
    RefusedSignal,
    TaskAnswer,
    bounded_reason,
    json_size,
    parse_answer,
)

TaskStatus = Literal["open", "answered", "timed_out", "cancelled", "failed"]
MAX_REFUSED = 100
MAX_PENDING = 100
MAX_PENDING_BYTES = 262_144
"""Answers waiting for their task, as JSON: they are carried across continue-as-new."""
_VISIT_SUFFIX = re.compile(r"#\d+$")


@dataclass
class HumanTask:
    """One open (or closed) human task, as `status` lists it."""

    task_id: str
    step_id: str
    kind: TaskKind
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
    def from_view(cls, data: Any) -> HumanTask:
        """A task from its `view()`, checked field by field: it arrives in a signal (from a branch)
        or in carried state, so a malformed one raises `pydantic.ValidationError`, never TypeError."""
        return _TASK_ADAPTER.validate_python(data)

    def listing(self) -> OpenTaskView:
        """As `status` lists an open task."""
        return OpenTaskView(
            task_id=self.task_id,
            step_id=self.step_id,
            kind=self.kind,
            title=self.title,
            description=self.description,
            assignee=self.assignee,
            assignee_group=self.assignee_group,
            priority=self.priority,
            deadline=self.deadline,
            options=[{"id": o["id"], "label": o["label"]} for o in self.options],
            input_schema=self.input_schema,
            level=self.level,
            opened_at=self.opened_at,
        )

    def closed_listing(self) -> ClosedTaskView:
        """As `status` lists a closed task: with who answered and how, when answered."""
        view = ClosedTaskView(
            task_id=self.task_id, step_id=self.step_id, status=self.status, closed_at=self.closed_at
        )
        if self.answer:
            view["decision"] = self.answer.get("decision")
            view["option"] = self.answer.get("option")
            view["responder"] = self.answer.get("responder")
        return view

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


_TASK_ADAPTER = TypeAdapter(HumanTask)


def refused_entry(payload: Any, reason: str, at: str) -> RefusedSignal:
    """A refused answer as `status` lists it: who and which task, when they are strings, and why."""
    given = payload if isinstance(payload, dict) else {}
    task_id, responder = given.get("task_id"), given.get("responder")
    return RefusedSignal(
        task_id=task_id[:500] if isinstance(task_id, str) else None,
        responder=responder[:200] if isinstance(responder, str) else None,
        reason=bounded_reason(reason),
        at=at,
    )


def step_of(task_id: str) -> str:
    """`enrich[2]/approve#2` -> `approve`."""
    return _VISIT_SUFFIX.sub("", task_id.rsplit("/", 1)[-1])


def check_answer(task: HumanTask, answer: TaskAnswer) -> Refusal | None:
    """Why this answer to an open task is refused, or None when it is acceptable."""
    tid = task.task_id
    allowed = ([task.assignee] if task.assignee else []) + (task.assignee_group or [])
    if allowed and answer.responder not in allowed:
        level = f" (escalated to level {task.level})" if task.level else ""
        return Refusal(
            NOT_ALLOWED,
            f"task '{tid}': '{answer.responder}' may not answer it; it is assigned to {task.who()}{level}",
        )
    decision = answer.decision
    if task.kind == "approval" and decision is None:
        return Refusal(
            ANSWER_INVALID, f"task '{tid}' is an approval: 'decision' must be 'approve' or 'reject', not None"
        )
    if task.kind == "choice":
        ids = [o["id"] for o in task.options]
        if answer.option not in ids:
            return Refusal(
                ANSWER_INVALID,
                bounded_reason(
                    f"task '{tid}': 'option' must be one of {', '.join(ids)}, not {answer.option!r}"
                ),
            )
    if task.kind == "input":
        return _check_data(tid, task.input_schema, answer.data)
    return None


def _check_data(tid: str, schema: dict[str, Any] | None, data: dict[str, Any] | None) -> Refusal | None:
    if data is None:
        return Refusal(ANSWER_INVALID, f"task '{tid}' is an input task: 'data' must be a JSON object")
    if not schema:
        return None
    try:
        mismatches = schema_mismatches(data, schema)
    except SchemaCheckError as err:
        return Refusal(
            ANSWER_INVALID, f"task '{tid}': data cannot be checked against the input_schema: {err}"
        )
    if not mismatches:
        return None
    lines = "; ".join(m.replace("at $", "data", 1) for m in mismatches)
    return Refusal(
        ANSWER_INVALID, bounded_reason(f"task '{tid}': data does not match the input_schema: {lines}")
    )


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
        self.refused: list[RefusedSignal] = []
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

    def status_fields(self) -> BoardView:
        return BoardView(
            open_tasks=[t.listing() for t in self.open_tasks()],
            closed_tasks=[t.closed_listing() for t in self.tasks.values() if not t.is_open],
            pending_responses=list(self.pending),
            refused_signals=list(self.refused),
        )

    # --- checking answers ----------------------------------------------------------

    def check(self, answer: TaskAnswer) -> Refusal | None:
        """Why a well-formed answer is refused now, or None (it may be applied)."""
        task = self.tasks.get(answer.task_id)
        if task is None:
            if self.can_open(answer.task_id):
                return Refusal(
                    TASK_NOT_OPEN, f"task '{answer.task_id}' is not open (yet); `status` lists the open tasks"
                )
            return Refusal(
                TASK_NOT_OPEN,
                bounded_reason(f"no task '{answer.task_id}' in this run; open tasks: {self._open_ids()}"),
            )
        if not task.is_open:
            return Refusal(TASK_CLOSED, closed_reason(task), task.closed_listing())
        return check_answer(task, answer)

    def check_payload(self, payload: Any) -> TaskAnswer | Refusal:
        """The payload parsed and checked: the answer to apply, or why it is refused."""
        answer = parse_answer(payload)
        if isinstance(answer, Refusal):
            return answer
        return self.check(answer) or answer

    def can_open(self, task_id: str) -> bool:
        """Could a task of this id still open (a later visit, a branch not started yet)?"""
        return self.human_steps is None or step_of(task_id) in self.human_steps

    def _open_ids(self) -> str:
        return ", ".join(t.task_id for t in self.open_tasks()) or "none"

    # --- applying answers ------------------------------------------------------------

    def accept(self, answer: TaskAnswer) -> AcceptedAnswer:
        """Records a checked answer on its task and returns it (as the task's output holds it)."""
        accepted = answer.accepted(workflow.now().isoformat())
        self.tasks[answer.task_id].answer = accepted.record()
        return accepted

    def receive_signal(self, payload: Any) -> AcceptedAnswer | None:
        """The `respond` signal: accept, buffer or refuse visibly; never raises."""
        answer = parse_answer(payload)
        if isinstance(answer, Refusal):
            self.refuse(payload, answer.reason)
            return None
        if answer.task_id not in self.tasks and self.can_open(answer.task_id):
            entry = {**answer.to_payload(), "received_at": workflow.now().isoformat()}
            if (
                len(self.pending) < MAX_PENDING
                and self._pending_bytes() + json_size(entry) <= MAX_PENDING_BYTES
            ):
                self.pending.append(entry)
                workflow.logger.info("response to task '%s' buffered until the task opens", answer.task_id)
                return None
            self.refuse(
                payload, f"task '{answer.task_id}' is not open yet, and too many answers wait already"
            )
            return None
        refusal = self.check(answer)
        if refusal is not None:
            self.refuse(payload, refusal.reason)
            return None
        return self.accept(answer)

    def add_refused(self, entry: RefusedSignal) -> None:
        """A refusal reported by a branch (already bounded by `refused_entry`)."""
        self.refused = [*self.refused, entry][-MAX_REFUSED:]
        self.refused_total += 1

    def refuse_event(self, event: Any, reason: str) -> None:
        """A malformed internal signal: listed with the refused answers, so it is visible."""
        self.add_refused(refused_entry({}, f"task event refused: {reason}", workflow.now().isoformat()))
        workflow.logger.warning("refused a task event: %s", bounded_reason(reason))

    def _pending_bytes(self) -> int:
        return sum(json_size(e) for e in self.pending)

    def refuse(self, payload: Any, reason: str) -> None:
        self.add_refused(refused_entry(payload, reason, workflow.now().isoformat()))
        workflow.logger.warning("refused a respond signal: %s", bounded_reason(reason))

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
        self, task: HumanTask, forward: Callable[[HumanTask, TaskAnswer], Awaitable[str | None]]
    ) -> None:
        """The root learns that a branch opened `task`; buffered answers for it go to the branch."""
        self.tasks[task.task_id] = task
        await self.notify_listener("opened", task)
        for answer in self.apply_pending(task.task_id):
            failed = await forward(task, answer)
            if failed:
                self.refuse(answer.to_payload(), failed)

    def apply_pending(self, task_id: str) -> list[TaskAnswer]:
        """Applies buffered answers to a task that just opened, in arrival order; returns those taken."""
        mine = [e for e in self.pending if e["task_id"] == task_id]
        self.pending = [e for e in self.pending if e["task_id"] != task_id]
        taken = []
        for entry in mine:
            payload = {k: v for k, v in entry.items() if k != "received_at"}
            checked = self.check_payload(payload)
            if isinstance(checked, Refusal):
                self.refuse(payload, checked.reason)
            else:
                self.accept(checked)
                taken.append(checked)
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
