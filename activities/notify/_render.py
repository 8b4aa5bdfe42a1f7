"""Channel-independent wording of a notification: headline, facts, answer instructions."""

from __future__ import annotations

from activities.notify.contracts import NotificationRequest

_EVENT_PREFIX = {
    "opened": "",
    "sla_warning": "SLA warning: ",
    "escalated": "Escalated: ",
    "timed_out": "Timed out: ",
    "reminder": "Reminder: ",
}

_KIND_NOUN = {
    "approval": "Approval needed",
    "choice": "Choice needed",
    "input": "Input needed",
    "review": "Review needed",
}


def headline(req: NotificationRequest) -> str:
    """`Escalated: Approve order 42`: the event, then the task's title."""
    return f"{_EVENT_PREFIX.get(req.event, '')}{req.title}"


def subject(req: NotificationRequest) -> str:
    """An email subject: `[segments] Approval needed: Approve order 42`."""
    if req.event == "opened":
        return f"[segments] {_KIND_NOUN.get(req.kind, 'Task')}: {req.title}"
    return f"[segments] {headline(req)}"


def who(req: NotificationRequest) -> str | None:
    if req.assignee and req.assignee_group:
        return f"{req.assignee} (group {req.assignee_group})"
    if req.assignee:
        return req.assignee
    if req.assignee_group:
        return f"group {req.assignee_group}"
    return None


def facts(req: NotificationRequest) -> list[tuple[str, str]]:
    """The labelled facts every channel shows, the empty ones left out."""
    rows: list[tuple[str, str | None]] = [
        ("Assignee", who(req)),
        ("Priority", req.priority),
        ("Deadline", req.deadline),
        ("Escalation level", str(req.level) if req.level else None),
        ("Run", req.run_id),
        ("Task", req.task_id),
    ]
    return [(label, value) for label, value in rows if value]


def is_open(req: NotificationRequest) -> bool:
    """Whether the task can still be answered (a timed-out task cannot)."""
    return req.event != "timed_out"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
