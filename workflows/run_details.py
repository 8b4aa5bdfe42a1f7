"""What the Temporal Web UI shows about a run: summaries and the run's current details.

- `static_summary` / `static_details`: set once when a run starts (segment, version, tenant,
  the definition's hash), by whoever starts it (the client, a schedule, a trigger).
- `step_summary`: the one-line summary on each activity, timer and child workflow, naming the
  step and why (`approve · timeout 4h`, `validate · Validate order`).
- `current_details`: Markdown kept up to date by the workflow with `workflow.set_current_details`
  (the Web UI's "Current details", the `__temporal_workflow_metadata` query): phase, steps done and
  running, and for each open human task who must answer, by when, and what to paste into the
  Web UI's "Send signal" dialog or run with `segments`.

Pure text functions, no side effects: safe in workflow code, and summaries never change the
commands a workflow sends, so recorded histories still replay.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from workflows.contract import RESPOND

RESPOND_SIGNAL = RESPOND
MAX_DONE_LISTED = 12
MAX_TASKS_LISTED = 10
SEPARATOR = " · "


def human_duration(value: timedelta) -> str:
    """`4h`, `1h30m`, `2d`, `45s`: the short form people read in a summary."""
    total = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def step_summary(step_id: str, why: str) -> str:
    """`<step> · <why>`: what an activity, timer or child workflow is for."""
    return f"{step_id}{SEPARATOR}{why}"


def static_summary(definition: dict[str, Any], tenant_id: str | None) -> str:
    name = definition.get("name") or definition.get("segment_id") or "segment"
    version = definition.get("version")
    tenant = f" for {tenant_id}" if tenant_id else ""
    return f"{name}{f' v{version}' if version else ''}{tenant}"


def static_details(definition: dict[str, Any], tenant_id: str | None, segment_hash: str) -> str:
    lines = [
        f"**Segment:** `{definition.get('segment_id', '?')}` version `{definition.get('version', '?')}`",
        f"**Tenant:** `{tenant_id}`" if tenant_id else "**Tenant:** none",
        f"**Definition hash:** `{segment_hash}`",
    ]
    description = definition.get("description")
    if isinstance(description, str) and description:
        lines.append(f"\n{description[:500]}")
    return "\n".join(lines)


class OpenTask(Protocol):
    task_id: str
    title: str
    assignee: str | None
    assignee_group: list[str] | None
    deadline: str | None
    options: list[dict[str, str]]
    level: int

    @property
    def kind(self) -> str: ...

    def who(self) -> str: ...


def responder_for(task: OpenTask) -> str:
    """The responder to put in a ready-to-send answer: the assignee, else the group's first member."""
    if task.assignee:
        return task.assignee
    if task.assignee_group:
        return task.assignee_group[0]
    return "YOUR_NAME"


def signal_payload(task: OpenTask) -> dict[str, Any]:
    """A valid `respond` signal input for the task (approve / the first option / empty data)."""
    payload: dict[str, Any] = {"task_id": task.task_id, "responder": responder_for(task)}
    if task.kind == "approval":
        payload["decision"] = "approve"
    elif task.kind == "choice" and task.options:
        payload["option"] = task.options[0]["id"]
    elif task.kind == "input":
        payload["data"] = {}
    else:
        payload["comment"] = "reviewed"
    return payload


def cli_command(run_id: str, task: OpenTask) -> str:
    run, tid, user = shlex.quote(run_id), shlex.quote(task.task_id), shlex.quote(responder_for(task))
    if task.kind == "approval":
        return f"segments approve {run} {tid} --as {user}"
    if task.kind == "choice" and task.options:
        return f"segments choose {run} {tid} {shlex.quote(task.options[0]['id'])} --as {user}"
    if task.kind == "input":
        return f"segments respond {run} {tid} --data '{{}}' --as {user}"
    return f"segments respond {run} {tid} --as {user} --comment reviewed"


@dataclass
class DetailsView:
    """The facts `current_details` renders; gathered by the workflow from its own state."""

    run_id: str
    phase: str
    steps_done: Sequence[str]
    steps_done_total: int
    steps_running: Sequence[str]
    open_tasks: Iterable[OpenTask]
    error: str | None = None


def current_details(view: DetailsView) -> str:
    lines = [f"**Phase:** {view.phase}"]
    if view.steps_done_total:
        shown = list(view.steps_done)[-MAX_DONE_LISTED:]
        earlier = "… → " if view.steps_done_total > len(shown) else ""
        lines.append(f"**Steps done ({view.steps_done_total}):** {earlier}{' → '.join(shown)}")
    if view.steps_running:
        lines.append(f"**Running:** {', '.join(view.steps_running)}")
    if view.error:
        lines.append(f"**Failed:** {view.error[:500]}")
        lines.append(f"Continue from the failed step: `segments redrive {shlex.quote(view.run_id)}`")
    for task in list(view.open_tasks)[:MAX_TASKS_LISTED]:
        lines.extend(_task_section(view.run_id, task))
    return "\n\n".join(lines)


def _task_section(run_id: str, task: OpenTask) -> list[str]:
    level = f" (escalated, level {task.level})" if task.level else ""
    payload = json.dumps(signal_payload(task), ensure_ascii=False)
    options = ""
    if task.kind == "choice":
        options = "; options: " + ", ".join(f"`{o['id']}`" for o in task.options)
    return [
        f"### Waiting for {task.who()}{level}: {task.title}",
        f"Task `{task.task_id}` ({task.kind}{options}), deadline {task.deadline or 'none'}.",
        f'Web UI → "Send signal": name `{RESPOND_SIGNAL}`, input:\n\n```json\n{payload}\n```',
        f"Or: `{cli_command(run_id, task)}`",
    ]
