"""The `notify` list of a `human_task` step's config: where to tell people about the task.

Pure pydantic models (workflow code may import them). Each entry names one channel:

    {"channel": "slack", "to": "#finance"}
    {"channel": "email", "to": ["a@example.com", "b@example.com"]}
    {"channel": "teams", "webhook_secret": "TEAMS_URL"}
    {"channel": "webhook", "url": "https://hooks.example.com/tasks", "secret": "HOOK_SECRET"}

Secrets are named, never inlined: the worker resolves them when it sends. A string may
still hold a `{% ... %}` template, rendered by the workflow before the notification goes out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

NotifyEvent = Literal["opened", "sla_warning", "escalated", "timed_out", "reminder"]
ALL_EVENTS: list[NotifyEvent] = ["opened", "sla_warning", "escalated", "timed_out", "reminder"]

_SECRET_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[NotifyEvent] = Field(
        default_factory=lambda: list(ALL_EVENTS),
        description="Which task events this channel hears about; all of them by default.",
    )

    def target(self) -> str | list[str]:
        """The `NotificationRequest.target` for this entry."""
        raise NotImplementedError

    def signing_secret(self) -> str | None:
        """The `NotificationRequest.signing_secret` for this entry."""
        return None


class SlackNotify(_Entry):
    channel: Literal["slack"] = Field(description="Post a message with the Slack Web API.")
    to: str = Field(
        min_length=1,
        description="Slack channel id (`C0123ABC`, preferred: survives renames) or name (`#finance`).",
    )

    def target(self) -> str:
        return self.to


class EmailNotify(_Entry):
    channel: Literal["email"] = Field(description="Send a plain-text email through the worker's SMTP relay.")
    to: list[str] = Field(
        min_length=1,
        description="Recipients' addresses; a single string is taken as a one-item list.",
    )

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _looks_like_addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "{%" not in address and ("@" not in address or any(c.isspace() for c in address.strip())):
                raise ValueError(f"'{address}' is not an email address")
        return [a.strip() for a in value]

    def target(self) -> list[str]:
        return list(self.to)


class TeamsNotify(_Entry):
    channel: Literal["teams"] = Field(
        description="Post an Adaptive Card to a Microsoft Teams incoming webhook."
    )
    webhook_secret: str = Field(
        pattern=_SECRET_NAME,
        description="Name of the worker secret holding the incoming-webhook URL (the URL is a credential).",
    )

    def target(self) -> str:
        return self.webhook_secret


class WebhookNotify(_Entry):
    channel: Literal["webhook"] = Field(description="POST the notification as JSON to a URL.")
    url: str = Field(description="An http(s) URL; outbound requests go through the worker's egress guard.")
    secret: str | None = Field(
        default=None,
        pattern=_SECRET_NAME,
        description="Name of a worker secret: when set, the body is signed with HMAC-SHA256 in "
        "the `X-Segments-Signature: sha256=<hex>` header.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if "{%" not in value and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    def target(self) -> str:
        return self.url

    def signing_secret(self) -> str | None:
        return self.secret


NotifyChannel = Annotated[
    SlackNotify | EmailNotify | TeamsNotify | WebhookNotify,
    Field(discriminator="channel"),
]
"""One entry of a `human_task`'s `notify` list."""

NotifyConfig = list[NotifyChannel]

NOTIFY_ADAPTER: TypeAdapter[list[NotifyChannel]] = TypeAdapter(NotifyConfig)


def parse_notify(raw: Any) -> list[NotifyChannel]:
    """Validate a raw `notify` list; raises `pydantic.ValidationError` naming each bad entry."""
    return NOTIFY_ADAPTER.validate_python(raw if raw is not None else [])
