"""`POST /triggers/{trigger_id}`: a signed webhook starts a run of a stored segment (gateway/triggers.py).

No bearer token: the per-trigger HMAC secret authenticates the sender, and the trigger's
configuration (not the request) says which segment runs for which tenant."""

from __future__ import annotations

import json
import os
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from temporalio.exceptions import WorkflowAlreadyStartedError

from gateway.definitions import load_definition
from gateway.deps import Client, Settings
from gateway.models import ErrorResponse, SegmentRef
from gateway.operator_models import TriggeredRun
from gateway.triggers import Trigger, check_delivery, run_id_for, secret_value
from segments.validation import InvalidSegment

router = APIRouter(prefix="/triggers", tags=["triggers"])


def _trigger(request: Request, trigger_id: str) -> Trigger:
    triggers: dict[str, Trigger] = request.app.state.triggers
    found = triggers.get(trigger_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no trigger '{trigger_id}'")
    return found


@router.post(
    "/{trigger_id}",
    status_code=status.HTTP_201_CREATED,
    response_model=TriggeredRun,
    responses={
        200: {"model": TriggeredRun, "description": "this delivery id already started its run"},
        401: {"model": ErrorResponse, "description": "unsigned, wrongly signed or stale delivery"},
        404: {"model": ErrorResponse, "description": "no such trigger"},
    },
)
async def deliver(
    trigger_id: str,
    request: Request,
    response: Response,
    client: Client,
    settings: Settings,
    x_segments_timestamp: Annotated[str | None, Header(max_length=20)] = None,
    x_segments_delivery: Annotated[str | None, Header(max_length=200)] = None,
    x_segments_signature: Annotated[str | None, Header(max_length=100)] = None,
) -> TriggeredRun:
    trigger = _trigger(request, trigger_id)
    secret = secret_value(trigger, os.environ)
    if secret is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"trigger '{trigger_id}': its secret is not configured"
        )
    body = await request.body()
    refused = check_delivery(
        secret, x_segments_timestamp, x_segments_delivery, x_segments_signature, body, time.time()
    )
    if refused is not None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, refused)
    assert x_segments_delivery is not None
    try:
        run_input: Any = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, "the body must be JSON: the run's input"
        ) from None
    definition = load_definition(
        settings.definitions_dir, SegmentRef(segment_id=trigger.segment_id, version=trigger.version)
    )
    run_id = run_id_for(trigger, x_segments_delivery)
    try:
        await client.start(definition, run_input, tenant_id=trigger.tenant, run_id=run_id)
    except WorkflowAlreadyStartedError:
        response.status_code = status.HTTP_200_OK
        return TriggeredRun(run_id=run_id, created=False)
    except InvalidSegment as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(err).splitlines()[0]) from None
    return TriggeredRun(run_id=run_id, created=True)
