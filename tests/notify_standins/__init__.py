"""Real local receivers for the notification channels: Slack Web API, SMTP, webhooks.

Each listens on 127.0.0.1 on an ephemeral port, records what it receives and is a context
manager (start on enter, stop on exit).
"""

from .http_receiver import RecordedRequest, WebhookReceiver
from .slack_api import SlackStandIn
from .smtp import SmtpStandIn

__all__ = ["RecordedRequest", "SlackStandIn", "SmtpStandIn", "WebhookReceiver"]
