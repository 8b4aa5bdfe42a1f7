"""The `notify` activity: one notification of one human-task event on one channel.

The worker registers `NotifyActivities(secrets, NotifySettings.from_env(), guard).notify` and
closes it on shutdown. Webhook, Teams and Slack requests go through the worker's one outbound
HTTP path (`activities.outbound`) with the same egress guard as `http_action`; the Slack API
root is the worker's own setting, so it is allowed on top of the guard's list.
Credentials (the Slack bot token, the SMTP password, a Teams webhook URL, a webhook's
signing key) are resolved here by name and appear in no error, log line or receipt.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG, ERROR_SECRET_MISSING
from activities.egress import EgressGuard
from activities.notify.contracts import NOTIFY_ACTIVITY, NotificationRequest
from activities.notify.email import send_email
from activities.notify.settings import SLACK_BOT_TOKEN_SETTING, SMTP_PASSWORD_SETTING, NotifySettings
from activities.notify.teams import send_teams
from activities.notify.webhook import send_webhook
from activities.outbound import outbound_client
from activities.secrets import SecretProvider, require_secret


class NotifyActivities:
    """Sends notifications; `await aclose()` (or `async with`) releases its connections.

    `guard` is the egress guard of `http_action` (`EgressGuard()` refuses every non-public
    address); every webhook, Teams and Slack request connects only to addresses it checked.
    """

    def __init__(
        self, secrets: SecretProvider, settings: NotifySettings, guard: EgressGuard | None = None
    ) -> None:
        self._secrets = secrets
        self._settings = settings
        self._guard = guard or EgressGuard()
        self._http = outbound_client(self._guard)
        slack = httpx.URL(settings.slack_base_url)
        slack_port = slack.port or (443 if slack.scheme == "https" else 80)
        slack_host = slack.host if ":" not in slack.host else f"[{slack.host}]"
        self._slack_http = outbound_client(self._guard.also_allowing(f"{slack_host}:{slack_port}"))

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._slack_http.aclose()

    async def __aenter__(self) -> NotifyActivities:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, req: NotificationRequest) -> dict[str, Any]:
        """Returns a receipt: `channel`, `event`, `idempotency_key` and the channel's ids."""
        if req.channel == "slack":
            details = await self._slack(req)
        elif req.channel == "email":
            details = await self._email(req)
        elif req.channel in ("teams", "webhook"):
            details = await self._over_http(req)
        else:
            raise ApplicationError(
                f"task '{req.task_id}': unknown notification channel '{req.channel}'",
                type=ERROR_CONFIG,
                non_retryable=True,
            )
        activity.logger.info("notified %s of %s on %s", req.task_id, req.event, req.channel)
        return {"channel": req.channel, "event": req.event, "idempotency_key": req.key, **details}

    async def _slack(self, req: NotificationRequest) -> dict[str, Any]:
        token = _own_credential(self._settings.slack_bot_token, SLACK_BOT_TOKEN_SETTING, req, "slack")
        from activities.notify.slack import send_slack  # imported at first use, with the rest of Slack

        return await send_slack(
            req,
            token=token,
            base_url=self._settings.slack_base_url,
            client=self._slack_http,
            timeout_s=self._settings.timeout_s,
        )

    async def _email(self, req: NotificationRequest) -> dict[str, Any]:
        password = None
        if self._settings.smtp_user:
            password = _own_credential(self._settings.smtp_password, SMTP_PASSWORD_SETTING, req, "email")
        return await send_email(req, settings=self._settings, password=password)

    async def _over_http(self, req: NotificationRequest) -> dict[str, Any]:
        client, timeout = self._http, self._settings.timeout_s
        if req.channel == "teams":
            if not isinstance(req.target, str) or not req.target:
                raise ApplicationError(
                    f"task '{req.task_id}': a teams notification needs the webhook secret's name as target",
                    type=ERROR_CONFIG,
                    non_retryable=True,
                )
            url = require_secret(
                self._secrets, req.target, step_id=req.task_id, field="notify.teams.webhook_secret"
            )
            return await send_teams(req, url=url, client=client, timeout_s=timeout, guard=self._guard)
        key = None
        if req.signing_secret:
            key = require_secret(
                self._secrets, req.signing_secret, step_id=req.task_id, field="notify.webhook.secret"
            )
        return await send_webhook(req, signing_key=key, client=client, timeout_s=timeout, guard=self._guard)


def _own_credential(value: str | None, setting: str, req: NotificationRequest, channel: str) -> str:
    """A credential of the worker's own integration, or a non-retryable error naming its setting."""
    if not value:
        raise ApplicationError(
            f"task '{req.task_id}': {channel} notifications need {setting} in the worker's environment",
            type=ERROR_SECRET_MISSING,
            non_retryable=True,
        )
    return value
