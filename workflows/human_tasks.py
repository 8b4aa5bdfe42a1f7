"""The `human_task` runner: open a task, notify, wait on durable timers, escalate, close.

Every wait is `workflow.wait_condition(..., timeout=...)`: a timer in history, so a task waits
hours or days across worker restarts and deploys. Each level of escalation waits through its
SLA warning and its reminders (`remind_every`) before its timeout. Deadlines are absolute
(opened_at + timeout), so a slow notification never stretches a timeout.

Notifications are `notify` activities, one per (event, channel, escalation level), with the
activity id `notify/<task_id>/<event>/<level>/<channel index>` (reminders add `/<n>`): recorded
in history, so a
worker restart replays them instead of sending again. They run beside the wait, so a slow or
failing channel never delays the task; a channel that still fails after its retries is
logged and listed on the task (`notify_failures` in the step's output).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from activities.notify.contracts import NOTIFY_ACTIVITY, ChoiceOption, Event, NotificationRequest
from segments.catalog import StepType
from segments.durations import format_duration, parse_duration
from segments.models import Step
from segments.step_configs.human_task import MAX_REMINDERS_PER_LEVEL, HumanTaskConfig
from workflows.contract import ANSWER_FIELDS
from workflows.errors import StepFailure, describe_activity_error
from workflows.interpreter import Interpreter, StepOutcome
from workflows.run_details import human_duration, step_summary
from workflows.task_board import HumanTask, TaskBoard

NOTIFY_TIMEOUT = timedelta(seconds=60)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=2), maximum_attempts=8
)
TIMEOUT_ERROR = "HumanTaskTimedOut"
PATCH_SLA_EVERY_LEVEL = "sla-warning-every-level"


def task_id_for(interp: Interpreter, step: Step, visit: int) -> str:
    """`<branch path><step_id>`, and `#n` from the second visit on (`approve#2`)."""
    return f"{interp.scope.path}{step.step_id}" + (f"#{visit}" if visit > 1 else "")


def answer_hint(run_id: str, task: HumanTask) -> str:
    """The CLI commands that answer the task, one per line, shell-quoted (`enrich[2]/approve` globs)."""
    run, tid = shlex.quote(run_id), shlex.quote(task.task_id)
    user = shlex.quote(task.assignee) if task.assignee and not task.assignee_group else "USER"
    if task.kind == "approval":
        return f"segments approve {run} {tid} --as {user}\nsegments reject {run} {tid} --as {user}"
    if task.kind == "choice":
        return "\n".join(
            f"segments choose {run} {tid} {shlex.quote(o['id'])} --as {user}" for o in task.options
        )
    if task.kind == "input":
        return f"segments respond {run} {tid} --data '{{...}}' --as {user}"
    return f"segments respond {run} {tid} --as {user} --comment '...'"


class Notifier:
    """Sends one task's notifications in the background of its wait."""

    def __init__(
        self, interp: Interpreter, config: HumanTaskConfig, task: HumanTask, board: TaskBoard
    ) -> None:
        self.run_id = interp.run.run_id
        self.config = config
        self.task = task
        self.failures: list[str] = []
        self._board = board

    def send(self, event: Event, sequence: int = 0) -> None:
        """`sequence` tells apart the reminders of one level (their activity ids end in `/<n>`)."""
        for index, channel in enumerate(self.config.notify):
            if event in channel.events:
                request = self._request(event, channel.channel, channel.target(), channel.signing_secret())
                self._board.background.append(asyncio.create_task(self._one(request, index, sequence)))

    def _request(
        self, event: Event, channel: Any, target: str | list[str], secret: str | None
    ) -> NotificationRequest:
        task = self.task
        return NotificationRequest(
            channel=channel,
            event=event,
            run_id=self.run_id,
            task_id=task.task_id,
            title=task.title,
            target=target,
            kind=task.kind,
            description=task.description,
            assignee=task.assignee,
            assignee_group=", ".join(task.assignee_group) if task.assignee_group else None,
            priority=task.priority,
            deadline=task.deadline,
            options=[ChoiceOption(o["id"], o["label"]) for o in task.options],
            answer_hint=answer_hint(self.run_id, task) if event != "timed_out" else "",
            level=task.level,
            signing_secret=secret,
        )

    async def _one(self, request: NotificationRequest, index: int, sequence: int) -> None:
        activity_id = f"notify/{request.task_id}/{request.event}/{request.level}/{index}"
        try:
            await workflow.execute_activity(
                NOTIFY_ACTIVITY,
                request,
                activity_id=activity_id + (f"/{sequence}" if sequence else ""),
                start_to_close_timeout=NOTIFY_TIMEOUT,
                retry_policy=NOTIFY_RETRY,
                summary=step_summary(self.task.step_id, f"notify {request.channel}: {request.event}"),
            )
        except ActivityError as err:
            message, _ = describe_activity_error(err)
            self.failures.append(f"{request.event} on {request.channel}: {message}")
            workflow.logger.warning(
                "task '%s': %s notification on %s failed: %s",
                request.task_id,
                request.event,
                request.channel,
                message,
            )


async def _answered_by(task: HumanTask, when: datetime, why: str) -> bool:
    """Waits until the task is answered or `when` (a durable timer, its summary `why`); True when
    answered."""
    remaining = when - workflow.now()
    if remaining > timedelta(0):
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: task.answer is not None,
                timeout=remaining,
                timeout_summary=step_summary(task.step_id, why),
            )
    return task.answer is not None


def level_checkpoints(
    cfg: HumanTaskConfig, start: datetime, deadline: datetime, level: int
) -> list[tuple[datetime, Event, int]]:
    """The notifications due while one level waits: its SLA warning and its reminders, in time order.

    Before the patch PATCH_SLA_EVERY_LEVEL only the first level had an SLA warning."""
    due: list[tuple[datetime, Event, int]] = []
    if cfg.sla_warning is not None and (level == 0 or workflow.patched(PATCH_SLA_EVERY_LEVEL)):
        due.append((start + parse_duration(cfg.sla_warning), "sla_warning", 0))
    if cfg.remind_every is not None:
        every = parse_duration(cfg.remind_every)
        for n in range(1, MAX_REMINDERS_PER_LEVEL + 1):
            if start + every * n >= deadline:
                break
            due.append((start + every * n, "reminder", n))
    return sorted(due, key=lambda item: (item[0], item[2]))


def _output(
    task: HumanTask, outcome: str, answer: dict[str, Any] | None, failures: list[str]
) -> dict[str, Any]:
    out = {"task_id": task.task_id, "outcome": outcome, **{k: (answer or {}).get(k) for k in ANSWER_FIELDS}}
    if failures:
        out["notify_failures"] = list(failures)
    return out


def _port(task: HumanTask, answer: dict[str, Any]) -> str:
    if task.kind == "approval":
        return "approved" if answer.get("decision") == "approve" else "rejected"
    if task.kind == "choice":
        return str(answer["option"])
    return "out"


async def run_human_task(
    interp: Interpreter, step: Step, step_type: StepType, config: dict[str, Any], visit: int
) -> StepOutcome:
    board: TaskBoard | None = interp.human_tasks
    if board is None:
        raise StepFailure(
            step.step_id,
            step.type,
            "this workflow keeps no task board, so it cannot run human tasks",
            "HumanTaskUnsupported",
            interp.scope.path,
        )
    cfg = HumanTaskConfig.model_validate(config)
    timeout = parse_duration(cfg.timeout)
    opened = workflow.now()
    task = HumanTask(
        task_id=task_id_for(interp, step, visit),
        step_id=step.step_id,
        kind=cfg.kind,
        title=cfg.title,
        description=cfg.description,
        assignee=cfg.assignee,
        assignee_group=cfg.assignee_group,
        priority=cfg.priority,
        deadline=(opened + timeout).isoformat(),
        options=[o.model_dump() for o in cfg.options or ()],
        input_schema=cfg.input_schema,
        opened_at=opened.isoformat(),
    )
    notifier = Notifier(interp, cfg, task, board)
    await board.open(task)
    notifier.send("opened")
    try:
        return await _OpenTask(interp, step, board, task, cfg, notifier, timeout).wait(opened)
    except asyncio.CancelledError:
        board.mark_cancelled(task)
        raise


@dataclass
class _OpenTask:
    """One open human task while its step waits: everything the waiting and the timeout need."""

    interp: Interpreter
    step: Step
    board: TaskBoard
    task: HumanTask
    cfg: HumanTaskConfig
    notifier: Notifier
    timeout: timedelta

    async def wait(self, opened: datetime) -> StepOutcome:
        task, cfg = self.task, self.cfg
        start, deadline = opened, opened + self.timeout
        while not await self._answered_at_level(start, deadline):
            if task.level >= len(cfg.escalation):
                return await self.timed_out()
            task.level += 1
            task.assignee, task.assignee_group = cfg.responders(task.level)
            start = workflow.now()
            deadline = start + self.timeout
            task.deadline = deadline.isoformat()
            await self.board.changed(task)
            self.notifier.send("escalated")
        answer = task.answer or {}
        await self.board.close(task, "answered")
        return StepOutcome(_output(task, "answered", answer, self.notifier.failures), _port(task, answer))

    async def _answered_at_level(self, start: datetime, deadline: datetime) -> bool:
        """One escalation level: its SLA warning and reminders as they fall due, then its timeout."""
        task = self.task
        for when, event, sequence in level_checkpoints(self.cfg, start, deadline, task.level):
            why = "SLA warning" if event == "sla_warning" else f"reminder {sequence}"
            if await _answered_by(task, when, why):
                return True
            self.notifier.send(event, sequence)
        level = f" (level {task.level})" if task.level else ""
        return await _answered_by(task, deadline, f"timeout {human_duration(self.timeout)}{level}")

    async def timed_out(self) -> StepOutcome:
        task, cfg = self.task, self.cfg
        self.notifier.send("timed_out")
        await self.board.close(task, "timed_out")
        waited = format_duration(self.timeout * (1 + len(cfg.escalation)))
        if cfg.on_timeout == "fail":
            raise StepFailure(
                self.step.step_id,
                self.step.type,
                f"task '{task.task_id}' got no answer in {waited}",
                TIMEOUT_ERROR,
                self.interp.scope.path,
            )
        if cfg.on_timeout == "route":
            return StepOutcome(_output(task, "timed_out", None, self.notifier.failures), "timeout")
        answer = {"decision": cfg.on_timeout}
        return StepOutcome(_output(task, "timed_out", answer, self.notifier.failures), _port(task, answer))
