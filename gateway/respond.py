"""Answering a human task through the run's `respond` update, and what a refusal means.

The update's validator refuses with a reason. Whether that is a conflict (the task is closed,
not open yet, or unknown: 409) or a bad answer to an open task (422) is read from the `status`
query after the refusal, not guessed from the wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from client.api import SegmentsClient

UPDATE_TIMEOUT = timedelta(seconds=30)

Outcome = Literal["accepted", "conflict", "invalid", "unavailable", "stuck"]

STUCK_MARKER = "Workflow Task in failed state"
"""What Temporal's FAILED_PRECONDITION says when a run is open but its workflow task fails."""


@dataclass(frozen=True)
class RespondResult:
    outcome: Outcome
    answer: dict[str, Any] | None = None
    reason: str = ""
    closed_task: dict[str, Any] | None = None
    """The task's entry in `closed_tasks` when it was already closed (who answered, how)."""


async def respond(client: SegmentsClient, run_id: str, payload: dict[str, Any]) -> RespondResult:
    handle = client.handle(run_id)
    try:
        answer = await handle.execute_update("respond", payload, rpc_timeout=UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        return await _classify(client, run_id, str(payload.get("task_id")), reason)
    except RPCError as err:
        if err.status == RPCStatusCode.FAILED_PRECONDITION and STUCK_MARKER in err.message:
            # The run is open, but its workflow task keeps failing: the worker cannot take the
            # answer now. Not "closed": a fixed worker (or a reset) lets the same answer in later.
            return RespondResult(
                "stuck",
                reason=f"run '{run_id}' is stuck: its workflow task is failing, so it cannot take an "
                "answer now; see the run's history in the Temporal Web UI, then try again",
            )
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return await _classify(client, run_id, str(payload.get("task_id")), f"run '{run_id}' is closed")
        if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
            return RespondResult("unavailable", reason="no worker took the answer in time")
        raise
    except TimeoutError:
        return RespondResult("unavailable", reason="no worker took the answer in time")
    return RespondResult("accepted", answer=answer if isinstance(answer, dict) else {"answer": answer})


async def _classify(client: SegmentsClient, run_id: str, task_id: str, reason: str) -> RespondResult:
    try:
        view: dict[str, Any] = await client.handle(run_id).query("status", rpc_timeout=timedelta(seconds=10))
    except Exception:  # the refusal stands; without the query, call it a conflict
        return RespondResult("conflict", reason=reason)
    if any(t.get("task_id") == task_id for t in view.get("open_tasks") or []):
        return RespondResult("invalid", reason=reason)
    closed = next((t for t in view.get("closed_tasks") or [] if t.get("task_id") == task_id), None)
    if closed is not None and closed.get("responder") and "already closed" not in reason:
        reason = f"task '{task_id}' is already closed (answered by {closed['responder']}); {reason}"
    return RespondResult("conflict", reason=reason, closed_task=closed)
