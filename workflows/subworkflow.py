"""The `subworkflow` runner: a stored segment run as a child `SegmentWorkflow`.

The child definition is read by an activity (so it is in history), the reference chain is
checked for a cycle and the nesting for the worker's depth bound, then the child starts with the
run's tenant and search attributes, a task path under this step (`call/approve`), and the root's
workflow id: its human tasks are listed and answered through the root, like a branch's
(workflows/task_relay.py). Its result is the step's output; its failure the step's (`error` port
with `on_error: route`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError, ChildWorkflowError

from activities.contracts import LOAD_DEFINITION_ACTIVITY, LoadDefinitionInput
from segments.catalog import StepType
from segments.models import Step
from segments.step_configs.subworkflow import SubworkflowConfig
from workflows.errors import StepFailure, describe_activity_error, error_details
from workflows.interpreter import Interpreter, Nesting, StepOutcome
from workflows.parallel import branch_search_attributes
from workflows.run_details import step_summary

SEGMENT_WORKFLOW = "SegmentWorkflow"
ERROR_CYCLE = "SubworkflowCycle"
ERROR_TOO_DEEP = "SubworkflowTooDeep"
ERROR_CHILD_FAILED = "SubworkflowFailed"
LOAD_TIMEOUT = timedelta(seconds=30)


async def run_subworkflow(
    interp: Interpreter, step: Step, step_type: StepType, config: dict[str, Any], visit: int
) -> StepOutcome:
    sub = SubworkflowConfig.model_validate(config)
    ref = sub.segment_ref.key
    nesting = interp.nesting

    def fail(message: str, error_type: str, details: dict[str, Any] | None = None) -> StepFailure:
        return StepFailure(step.step_id, step.type, message, error_type, interp.scope.path, details)

    if ref in nesting.chain:
        cycle = " → ".join([*nesting.chain[nesting.chain.index(ref) :], ref])
        raise fail(
            f"segment_ref {ref} makes a reference cycle ({cycle}); a segment cannot call itself", ERROR_CYCLE
        )
    try:
        loaded = await workflow.execute_activity(
            LOAD_DEFINITION_ACTIVITY,
            LoadDefinitionInput(sub.segment_ref.segment_id, sub.segment_ref.version, step.step_id),
            start_to_close_timeout=LOAD_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3),
            activity_id=f"{interp.scope.path}{step.step_id}#{visit}/load",
            summary=step_summary(step.step_id, f"load {ref}"),
            result_type=dict,
        )
    except ActivityError as err:
        message, error_type = describe_activity_error(err)
        raise fail(message, error_type or ERROR_CHILD_FAILED, error_details(err)) from None
    depth = nesting.depth + 1
    if depth > int(loaded["max_depth"]):
        raise fail(
            f"segment_ref {ref} would nest subworkflows {depth} deep, past this worker's bound of "
            f"{loaded['max_depth']} (SEGMENTS_SUBWORKFLOW_MAX_DEPTH); "
            f"chain: {' → '.join([*nesting.chain, ref])}",
            ERROR_TOO_DEEP,
        )
    path = f"{interp.scope.path}{step.step_id}" + (f"#{visit}" if visit > 1 else "")
    arrival = interp.state.arrivals.get(step.step_id)
    child_input = (
        sub.input if "input" in config else (arrival.prev if arrival is not None else interp.run_input)
    )
    request = {
        "segment": loaded["definition"],
        "input": child_input,
        "tenant_id": interp.run.tenant_id,
        "subworkflow": {
            "root_workflow_id": nesting.root_workflow_id,
            "task_path": f"{path}/",
            "depth": depth,
            "chain": [*nesting.chain, ref],
            "root_segment_id": interp.run.segment_id,
        },
    }
    child_id = f"{nesting.root_workflow_id}/{path}"
    await workflow.wait_condition(lambda: not interp.state.paused)
    interp.state.children.add(child_id)
    try:
        result = await workflow.execute_child_workflow(
            SEGMENT_WORKFLOW,
            request,
            id=child_id,
            cancellation_type=workflow.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
            static_summary=step_summary(step.step_id, f"subworkflow {ref}"),
            search_attributes=branch_search_attributes(interp),
        )
    except ChildWorkflowError as err:
        if isinstance(err.cause, CancelledError):
            raise asyncio.CancelledError(str(err)) from err
        message, error_type = describe_activity_error(err)
        raise fail(f"subworkflow {ref} failed: {message}", error_type or ERROR_CHILD_FAILED) from None
    finally:
        interp.state.children.discard(child_id)
    return StepOutcome(result, "out")


def child_nesting(section: Any) -> Nesting | None:
    """The `subworkflow` section of a child run's request, or None for a run of its own."""
    if not isinstance(section, dict) or not isinstance(section.get("root_workflow_id"), str):
        return None
    chain = section.get("chain")
    return Nesting(
        section["root_workflow_id"],
        int(section.get("depth") or 1),
        [str(c) for c in chain] if isinstance(chain, list) else [],
    )


def child_task_path(section: dict[str, Any]) -> str:
    """The child's task path prefix (`call/`): its task ids are unique in the root's list."""
    path = section.get("task_path")
    return path if isinstance(path, str) else ""
