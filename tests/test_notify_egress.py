"""A notification webhook's URL comes from the segment: it passes the same egress guard as http_action."""

from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.egress import AllowList, EgressGuard, url_checker
from activities.notify.activity import NotifyActivities
from activities.notify.contracts import NotificationRequest
from activities.notify.settings import NotifySettings
from activities.secrets import EnvSecretProvider
from tests.notify_standins.http_receiver import WebhookReceiver


def _request(url: str) -> NotificationRequest:
    return NotificationRequest(
        channel="webhook", event="opened", run_id="r1", task_id="approve", title="Approve", target=url
    )


async def _send(allow: str, url: str) -> Any:
    acts = NotifyActivities(
        EnvSecretProvider({}),
        NotifySettings(),
        url_guard=url_checker(EgressGuard(AllowList.parse(allow) if allow else None)),
    )
    return await ActivityEnvironment().run(acts.notify, _request(url))


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/hook",
        "http://[::1]:9/hook",
        "http://0x7f.1/hook",
    ],
)
async def test_a_webhook_to_a_refused_address_is_not_sent(url: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        await _send("", url)
    assert caught.value.type == "EgressDenied" and caught.value.non_retryable


async def test_a_webhook_that_is_not_http_is_refused() -> None:
    with pytest.raises(ApplicationError) as caught:
        await _send("", "file:///etc/passwd")
    assert caught.value.non_retryable


async def test_an_allowed_webhook_is_sent() -> None:
    with WebhookReceiver() as receiver:
        receipt = await _send(f"127.0.0.1:{receiver.port}", receiver.url)
        assert receipt["status"] == 200
        assert len(receiver.requests) == 1
        with pytest.raises(ApplicationError):  # the same server is refused without the allow-list entry
            await _send("", receiver.url)
        assert len(receiver.requests) == 1
