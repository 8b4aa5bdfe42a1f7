"""Answering a human task through the run's `respond` update, and what a refusal means.

The update's validator refuses with a reason and a kind (`workflows.contract.REFUSAL_TYPES`, in
`ApplicationError.type`): a refusal about the task's state (not open, closed) is a conflict (409),
one about the answer (not allowed, does not fit) is invalid (422). No second query is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from client.api import SegmentsClient, refusal_of
from workflows.contract import CONFLICT_REFUSALS, RESPOND, STATUS_QUERY, ClosedTaskView, TaskAnswer

UPDATE_TIMEOUT = timedelta(seconds=30)

Outcome = Literal["accepted", "conflict", "invalid", "unavailable", "stuck"]

STUCK_MARKER = "Workflow Task in failed state"
"""What Temporal's FAILED_PRECONDITION says when a run is open but its workflow task fails."""


@dataclass(frozen=True)
class RespondResult:
    outcome: Outcome
    answer: dict[str, Any] | None = None
    reason: str = ""
    closed_task: ClosedTaskView | None = None
    """The task's entry in `closed_tasks` when it was already closed (who answered, how)."""


async def respond(client: SegmentsClient, run_id: str, answer: TaskAnswer) -> RespondResult:
    handle = client.handle(run_id)
    try:
        accepted = await handle.execute_update(RESPOND, answer.to_payload(), rpc_timeout=UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as err:
        refusal = refusal_of(err)
        outcome: Outcome = "conflict" if refusal.type in CONFLICT_REFUSALS else "invalid"
        return RespondResult(outcome, reason=refusal.reason, closed_task=refusal.closed)
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
            return await _run_closed(client, run_id, answer.task_id)
        if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
            return RespondResult("unavailable", reason="no worker took the answer in time")
        raise
    except TimeoutError:
        return RespondResult("unavailable", reason="no worker took the answer in time")
    return RespondResult("accepted", answer=accepted if isinstance(accepted, dict) else {"answer": accepted})


async def _run_closed(client: SegmentsClient, run_id: str, task_id: str) -> RespondResult:
    """The run takes no more answers; its last `status` says how the task ended, when it can."""
    reason = f"run '{run_id}' is closed"
    try:
        view = await client.handle(run_id).query(STATUS_QUERY, rpc_timeout=timedelta(seconds=10))
    except Exception:  # the refusal stands without the details
        return RespondResult("conflict", reason=reason)
    closed = next((t for t in view.get("closed_tasks") or [] if t.get("task_id") == task_id), None)
    if closed is not None and closed.get("responder"):
        reason = f"task '{task_id}' is already closed (answered by {closed['responder']}); {reason}"
    return RespondResult("conflict", reason=reason, closed_task=closed)
