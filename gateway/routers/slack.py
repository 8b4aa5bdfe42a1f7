"""Slack interactivity: the Approve/Reject (or option) buttons of a task's Slack message.

Slack wants an answer within 3 s, so the request is verified and acknowledged at once and the
`respond` update runs in the background; the outcome replaces the message (with `chat.update`
when the gateway has a bot token, else through the interaction's `response_url`); a refusal goes
to the clicker alone through the `response_url`.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any
from urllib.parse import parse_qs

import httpx
from fastapi import APIRouter, BackgroundTasks, Header, HTTPException, Request, Response, status

from client.api import SegmentsClient
from gateway.deps import Client, Settings
from gateway.respond import RespondResult, respond
from gateway.runs_access import describe_run
from gateway.settings import GatewaySettings
from gateway.slack_signature import verify
from gateway.slack_update import message_of, update_message
from gateway.ttl_cache import TtlSet
from workflows.contract import TaskAnswer, parse_answer

router = APIRouter(prefix="/slack", tags=["slack"])
log = logging.getLogger(__name__)


def _payload(body: bytes) -> dict[str, Any]:
    try:
        text = parse_qs(body.decode(), strict_parsing=False).get("payload", [""])[0]
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "expected a form field 'payload' with JSON"
        ) from None
    if not isinstance(payload, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the payload is not a JSON object")
    return payload


def slack_responder(user: dict[str, Any], settings: GatewaySettings) -> str | None:
    """Who a click answers as: the mapped name of the clicker's Slack user id, or, with no
    mapping configured, the id itself. Never the username or display name: a Slack user can
    pick one that is someone else's name (review M3). None: this user may not answer."""
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id:
        return None
    if settings.slack_users:
        return settings.slack_users.get(user_id)
    return user_id


def _answer(payload: dict[str, Any], settings: GatewaySettings) -> tuple[str, dict[str, Any]] | None:
    """(run_id, respond payload) of the first button of a block_actions payload."""
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions") or []
    try:
        value = json.loads(actions[0]["value"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    user = payload.get("user")
    user = user if isinstance(user, dict) else {}
    responder = slack_responder(user, settings)
    if not isinstance(value, dict) or not value.get("run_id") or not value.get("task_id"):
        return None
    answer = {"task_id": str(value["task_id"]), "responder": responder or ""}
    for key in ("decision", "option"):
        if value.get(key):
            answer[key] = str(value[key])
    return str(value["run_id"]), answer


@router.post(
    "/interactions",
    summary="Slack interactivity requests (form-encoded `payload=`), signed by Slack",
    responses={401: {"description": "not signed by Slack, or too old"}, 503: {"description": "no secret"}},
)
async def interactions(
    request: Request,
    background: BackgroundTasks,
    client: Client,
    settings: Settings,
    x_slack_request_timestamp: Annotated[str | None, Header()] = None,
    x_slack_signature: Annotated[str | None, Header()] = None,
) -> Response:
    if not settings.slack_signing_secret:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Slack is not configured on this gateway")
    body = await request.body()
    refused = verify(
        settings.slack_signing_secret,
        x_slack_request_timestamp,
        x_slack_signature,
        body,
        max_age_seconds=settings.slack_max_age_seconds,
    )
    if refused:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, refused)
    payload = _payload(body)
    answer = _answer(payload, settings)
    seen: TtlSet = request.app.state.slack_seen
    if answer is not None and seen.add_new(str(x_slack_signature)):
        run_id, respond_payload = answer
        background.add_task(
            _process,
            client,
            settings,
            run_id,
            respond_payload,
            payload.get("response_url"),
            message_of(payload),
        )
    return Response(status_code=status.HTTP_200_OK)


async def _process(
    client: SegmentsClient,
    settings: GatewaySettings,
    run_id: str,
    payload: dict[str, Any],
    response_url: Any,
    message: tuple[str, str] | None = None,
) -> None:
    try:
        await describe_run(client, run_id, settings.slack_tenant)
    except HTTPException:
        await _reply(settings, response_url, {"response_type": "ephemeral", "text": f"No run '{run_id}'."})
        return
    if not payload.get("responder"):
        text = (
            f"Run `{run_id}`: your Slack user is not mapped to anyone who may answer tasks here "
            "(SEGMENTS_GATEWAY_SLACK_USERS)."
        )
        await _reply(
            settings, response_url, {"response_type": "ephemeral", "replace_original": False, "text": text}
        )
        return
    parsed = parse_answer(payload)
    result = (
        await respond(client, run_id, parsed)
        if isinstance(parsed, TaskAnswer)
        else RespondResult("invalid", reason=parsed.reason)
    )
    if result.outcome == "accepted":
        text = _outcome_text(run_id, payload)
        if message is None or not await update_message(settings, *message, text):
            await _reply(settings, response_url, {"replace_original": True, "text": text})
    elif not _same_answer(result, payload):
        text = f"Run `{run_id}`: your answer was not taken: {result.reason}"
        await _reply(
            settings, response_url, {"response_type": "ephemeral", "replace_original": False, "text": text}
        )


def _same_answer(result: RespondResult, payload: dict[str, Any]) -> bool:
    """A replayed click: the task is closed with exactly this answer, so there is nothing to say."""
    closed = result.closed_task
    return (
        closed is not None
        and result.outcome == "conflict"
        and closed.get("responder") == payload.get("responder")
        and closed.get("decision") == payload.get("decision")
        and closed.get("option") == payload.get("option")
    )


def _outcome_text(run_id: str, payload: dict[str, Any]) -> str:
    what = {"approve": "approved", "reject": "rejected"}.get(payload.get("decision") or "")
    what = what or f"answered '{payload.get('option')}'"
    return f"Task `{payload['task_id']}` of run `{run_id}`: {what} by {payload['responder']}."


async def _reply(settings: GatewaySettings, response_url: Any, message: dict[str, Any]) -> None:
    if not isinstance(response_url, str) or not response_url.startswith(settings.slack_response_url_prefixes):
        log.warning("Slack response_url outside the allowed prefixes; not called")
        return
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            reply = await http.post(response_url, json=message)
        if reply.status_code >= 400:
            log.warning("Slack response_url answered %s", reply.status_code)
    except httpx.HTTPError as err:
        log.warning("Slack response_url failed: %s", type(err).__name__)
