"""The `notify` activity: one notification of one human-task event on one channel.

The worker registers `NotifyActivities(secrets, NotifySettings.from_env(), ...).notify`.
Credentials (the Slack bot token, the SMTP password, a Teams webhook URL, a webhook's
signing key) are resolved here by name and appear in no error, log line or receipt.
"""

from __future__ import annotations

from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG, ERROR_SECRET_MISSING
from activities.notify._http import UrlGuard
from activities.notify.contracts import NOTIFY_ACTIVITY, NotificationRequest
from activities.notify.email import send_email
from activities.notify.settings import SLACK_BOT_TOKEN_SETTING, SMTP_PASSWORD_SETTING, NotifySettings
from activities.notify.teams import send_teams
from activities.notify.webhook import send_webhook
from activities.secrets import SecretProvider, require_secret


class NotifyActivities:
    """Sends notifications.

    `http` is shared by the Teams and webhook channels (one per call when None).
    `url_guard` is called with every outbound Teams/webhook URL before it is used and
    raises to refuse it: the hook for the egress guard of `activities/egress.py`.
    """

    def __init__(
        self,
        secrets: SecretProvider,
        settings: NotifySettings,
        http: httpx.AsyncClient | None = None,
        url_guard: UrlGuard | None = None,
    ) -> None:
        self._secrets = secrets
        self._settings = settings
        self._http = http
        self._url_guard = url_guard

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, req: NotificationRequest) -> dict[str, Any]:
        """Returns a receipt: `channel`, `event`, `idempotency_key` and the channel's ids."""
        if req.channel == "slack":
            details = await self._slack(req)
        elif req.channel == "email":
            details = await self._email(req)
        elif req.channel in ("teams", "webhook"):
            if self._http is not None:
                details = await self._over_http(req, self._http)
            else:
                async with httpx.AsyncClient() as client:
                    details = await self._over_http(req, client)
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
        from activities.notify.slack import send_slack  # slack-sdk and aiohttp: only when used

        return await send_slack(
            req, token=token, base_url=self._settings.slack_base_url, timeout_s=self._settings.timeout_s
        )

    async def _email(self, req: NotificationRequest) -> dict[str, Any]:
        password = None
        if self._settings.smtp_user:
            password = _own_credential(self._settings.smtp_password, SMTP_PASSWORD_SETTING, req, "email")
        return await send_email(req, settings=self._settings, password=password)

    async def _over_http(self, req: NotificationRequest, client: httpx.AsyncClient) -> dict[str, Any]:
        timeout = self._settings.timeout_s
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
            return await send_teams(req, url=url, client=client, timeout_s=timeout, url_guard=self._url_guard)
        key = None
        if req.signing_secret:
            key = require_secret(
                self._secrets, req.signing_secret, step_id=req.task_id, field="notify.webhook.secret"
            )
        return await send_webhook(
            req, signing_key=key, client=client, timeout_s=timeout, url_guard=self._url_guard
        )


def _own_credential(value: str | None, setting: str, req: NotificationRequest, channel: str) -> str:
    """A credential of the worker's own integration, or a non-retryable error naming its setting."""
    if not value:
        raise ApplicationError(
            f"task '{req.task_id}': {channel} notifications need {setting} in the worker's environment",
            type=ERROR_SECRET_MISSING,
            non_retryable=True,
        )
    return value
