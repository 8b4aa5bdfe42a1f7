"""The notification contract between a `human_task` step and the `notify` activity.

Workflow code imports this module, so it holds plain dataclasses and pure functions only:
no I/O, nothing non-deterministic.

The workflow calls the `notify` activity once per (event, channel): when a task opens, at
its SLA warning, at each escalation level, at a reminder and when it times out. Each call
carries one `NotificationRequest`; its `key` (idempotency key) is the same on every retry of that
call, so receivers can drop duplicates (it is the webhook's `Idempotency-Key` header, the
email's `Message-ID` and the Slack message's metadata).

What `target` holds depends on the channel, and never a secret's value:

| channel   | target                                                 | signing_secret          |
|-----------|--------------------------------------------------------|-------------------------|
| `slack`   | a channel id (`C0123ABC`) or name (`#finance`)         | unused                  |
| `email`   | the recipients' addresses                              | unused                  |
| `teams`   | the NAME of the secret holding the incoming-webhook URL | unused                 |
| `webhook` | the URL itself (not a credential)                      | optional secret's NAME: HMAC key |

A Teams incoming-webhook URL is a bearer credential (anyone holding it can post), so it
lives in a secret and only its name crosses workflow history. A generic webhook's URL is
configuration; the optional HMAC key that signs its body is a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

NOTIFY_ACTIVITY = "notify"

Channel = Literal["slack", "email", "teams", "webhook"]
Event = Literal["opened", "sla_warning", "escalated", "timed_out", "reminder"]
TaskKind = Literal["approval", "choice", "input", "review"]

CHANNELS: tuple[Channel, ...] = ("slack", "email", "teams", "webhook")
EVENTS: tuple[Event, ...] = ("opened", "sla_warning", "escalated", "timed_out", "reminder")

# ApplicationError types raised by the notify activity, beside the shared ones in
# activities.contracts (SecretMissing, StepConfigError, HttpStatusError, HttpTransportError,
# EgressDenied).
ERROR_SLACK_API = "SlackApiError"
ERROR_SMTP = "SmtpError"


@dataclass
class ChoiceOption:
    """One option of a `choice` task."""

    id: str
    label: str


@dataclass
class NotificationRequest:
    """One notification: one event of one human task, sent on one channel."""

    channel: Channel
    event: Event
    run_id: str
    """The root workflow id: the id to answer the task through."""
    task_id: str
    """The task's id inside the run (`approve`, `enrich[2]/approve`, `approve#2`)."""
    title: str
    target: str | list[str]
    """The channel's destination: see the module docstring's table."""
    kind: TaskKind = "approval"
    description: str = ""
    assignee: str | None = None
    assignee_group: str | None = None
    priority: str | None = None
    deadline: str | None = None
    """ISO 8601 (UTC) time at which the task times out at the current level."""
    options: list[ChoiceOption] = field(default_factory=list)
    answer_hint: str = ""
    """The exact CLI command(s) to answer, one per line, e.g.
    `segments approve RUN TASK --as USER`. Built by the workflow, shown verbatim."""
    level: int = 0
    """Escalation level: 0 for the first assignee, n after the n-th escalation."""
    signing_secret: str | None = None
    """`webhook` only: the name of the secret whose value HMAC-signs the body."""
    idempotency_key: str = ""
    """Stable across retries of this call; empty means the default, see `key`."""

    @property
    def key(self) -> str:
        """The idempotency key in force: `idempotency_key`, or `notification_key(...)` of
        this request's run, task, event, level and channel. (Derived on read, not stored,
        so `dataclasses.replace(req, channel=...)` never carries a stale key.)"""
        return self.idempotency_key or notification_key(
            self.run_id, self.task_id, self.event, self.level, self.channel
        )

    @property
    def recipients(self) -> list[str]:
        """`target` as a list (email); a single string becomes a one-item list."""
        if isinstance(self.target, str):
            return [a.strip() for a in self.target.split(",") if a.strip()]
        return list(self.target)


def notification_key(run_id: str, task_id: str, event: str, level: int = 0, channel: str = "") -> str:
    """The idempotency key of one notification: `run/task/event/level[/channel]`.

    The same task event sent to two channels gets two keys, so a receiver that dedupes
    on the key (a webhook consumer) never drops the second channel's copy."""
    key = f"{run_id}/{task_id}/{event}/{level}"
    return f"{key}/{channel}" if channel else key
