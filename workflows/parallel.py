"""The `parallel_split` runner: each branch runs as a child workflow, at the same time.

The split finds its join (`Graph.matching_join`), starts one `SegmentBranchWorkflow` per branch
(per outgoing edge, or per item of `items`), applies the join's policy as results come in,
cancels what is left once it is met, records the join's visit and hands control back at the
join, whose edges the walk follows.

Naming: a branch is named by the step it leads to (`fetch_a`), a map branch by that step and its
index (`enrich[2]`); its path prefixes the enclosing branch's (`outer[1]/inner_b/`), and on the
split's k-th visit (k > 1) gets `#k` (`enrich[2]#2/`). The child's workflow id is
`<root workflow id>/<path>`, e.g. `order-17/enrich[2]`.

At most `max_concurrency` children run at once (500 by default, far below Temporal's limit of
2,000 pending children per workflow); the others start as earlier ones end.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, CancelledError, ChildWorkflowError

from segments.catalog import StepType
from segments.expressions import ExpressionError
from segments.models import Step
from segments.step_configs.parallel import ParallelJoinConfig, ParallelSplitConfig
from workflows.branch_input import (
    BRANCH_WORKFLOW_NAME,
    BranchInput,
    branch_definition,
    branch_expressions,
    needed_context,
)
from workflows.contract import PAUSE_SIGNAL, RESUME_SIGNAL
from workflows.errors import StepFailure, describe_activity_error
from workflows.interpreter import BranchScope, Interpreter, StepOutcome
from workflows.join_policy import BranchError, BranchResult, JoinTally
from workflows.search_attributes import SEGMENT_ID, TENANT_ID

MAX_IN_FLIGHT = 500
"""Children running at once when the split sets no `max_concurrency`."""
MAX_MAP_ITEMS = 2_000
"""More items would take the parent's history past Temporal's limits; split the list upstream."""
BRANCH_FAILED = "BranchFailed"


@dataclass(frozen=True)
class Branch:
    position: int
    name: str
    start: str
    scope: BranchScope


class BranchFailed(StepFailure):
    """A split failed because one of its branches did; `origin` is the deepest failing step."""

    def __init__(self, split: Step, task_path: str, origin: BranchError) -> None:
        super().__init__(split.step_id, split.type, origin.describe(), origin.error_type, task_path)
        self.origin = origin


async def run_parallel_split(
    interp: Interpreter, step: Step, step_type: StepType, config: dict[str, Any], visit: int
) -> StepOutcome:
    split = ParallelSplitConfig.model_validate(config)
    join_id, why = interp.graph.matching_join(step.step_id)
    if join_id is None:  # validation makes this unreachable
        raise StepFailure(
            step.step_id, step.type, f"no matching parallel_join: {why}", task_path=interp.scope.path
        )
    join = _join_config(interp, step, join_id)
    branches = _plan(interp, step, split, visit)
    needed = join.successes_needed(len(branches))
    if needed > len(branches):
        raise StepFailure(
            step.step_id,
            step.type,
            f"the join '{join_id}' waits for {needed} branches to "
            f"succeed, but there are only {len(branches)}",
            "JoinPolicy",
            interp.scope.path,
        )
    tally = JoinTally(
        [b.name for b in branches], needed, join.on_branch_error == "collect", mapped=split.items is not None
    )
    await _run_branches(interp, step, join_id, branches, tally, split.max_concurrency or MAX_IN_FLIGHT)
    if tally.failure is not None:
        raise BranchFailed(step, interp.scope.path, tally.failure)
    output = tally.output()
    interp.record_visit(join_id, StepOutcome(output))
    return StepOutcome(output, "out", route_from=join_id)


def _join_config(interp: Interpreter, split: Step, join_id: str) -> ParallelJoinConfig:
    join_step = interp.graph.steps[join_id]
    join_type = interp.catalog.get(join_step.type)
    assert join_type is not None
    try:
        return ParallelJoinConfig.model_validate(interp.render_config(join_step, join_type))
    except (ExpressionError, ValidationError) as err:
        raise StepFailure(
            split.step_id,
            split.type,
            f"config of its join '{join_id}': {err}",
            "StepConfigError",
            interp.scope.path,
        ) from None


def _plan(interp: Interpreter, step: Step, split: ParallelSplitConfig, visit: int) -> list[Branch]:
    """The branches, in order: one per outgoing edge, or one per item in a map."""
    suffix = f"#{visit}" if visit > 1 else ""
    parent = interp.scope
    if split.items is None:
        return [
            Branch(i, start, start, BranchScope(f"{parent.path}{start}{suffix}/", parent.item, parent.index))
            for i, start in enumerate(interp.graph.all_targets(step.step_id))
        ]
    items = _items(interp, step, split.items)
    (start,) = interp.graph.all_targets(step.step_id)
    return [
        Branch(i, f"{start}[{i}]", start, BranchScope(f"{parent.path}{start}[{i}]{suffix}/", item, i))
        for i, item in enumerate(items)
    ]


def _items(interp: Interpreter, step: Step, expression: str) -> list[Any]:
    """The map's list. Undefined is no item; a single value is one item (JSONata gives a single
    value, not a list of one, for a path that matches once)."""
    try:
        value = interp.evaluate(expression)
    except ExpressionError as err:
        raise StepFailure(
            step.step_id, step.type, f"items: {err.message}", "ExpressionError", interp.scope.path
        ) from None
    items = [] if value is None else value if isinstance(value, list) else [value]
    if len(items) > MAX_MAP_ITEMS:
        raise StepFailure(
            step.step_id,
            step.type,
            f"items gave {len(items)} items; a map runs at most "
            f"{MAX_MAP_ITEMS}: split the list into batches upstream",
            "TooManyItems",
            interp.scope.path,
        )
    return items


async def _run_branches(
    interp: Interpreter, split: Step, join_id: str, branches: list[Branch], tally: JoinTally, limit: int
) -> None:
    """Starts branches up to `limit` at once until the tally is decided, then cancels the rest.

    Results are taken in branch order within one workflow activation, so replay decides alike."""
    queue = deque(branches)
    running: dict[asyncio.Task[BranchResult], Branch] = {}
    try:
        while not tally.decided:
            while queue and len(running) < limit:
                branch = queue.popleft()
                task = asyncio.create_task(_run_branch(interp, split, join_id, branch))
                running[task] = branch
            done, _ = await workflow.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: running[t].position):
                running.pop(task)
                tally.record(task.result())
    finally:
        # The policy is met, a branch failed, or the run is being cancelled: stop the others.
        for task in running:
            task.cancel()
        results = await asyncio.gather(*running, return_exceptions=True)
        for branch, result in zip(running.values(), results, strict=True):
            tally.record(
                result if isinstance(result, BranchResult) else BranchResult(branch.position, cancelled=True)
            )


async def apply_pause(interp: Interpreter | None, paused: bool) -> None:
    """Pause or resume an interpreter and every branch child running now (each forwards the
    signal to its own children): no new step starts while paused; running steps finish."""
    if interp is None:
        return
    interp.state.paused = paused
    for child_id in sorted(interp.state.children):
        await workflow.get_external_workflow_handle(child_id).signal(
            PAUSE_SIGNAL if paused else RESUME_SIGNAL
        )


async def _run_branch(interp: Interpreter, split: Step, join_id: str, branch: Branch) -> BranchResult:
    child_id = f"{interp.run.run_id}/{branch.scope.path.rstrip('/')}"
    await workflow.wait_condition(lambda: not interp.state.paused)  # a paused run starts no branch
    interp.state.children.add(child_id)
    try:
        output = await workflow.execute_child_workflow(
            BRANCH_WORKFLOW_NAME,
            _branch_input(interp, join_id, branch),
            id=child_id,
            cancellation_type=workflow.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
            static_summary=f"Branch {branch.scope.path.rstrip('/')} of {split.label}",
            search_attributes=_branch_search_attributes(interp),
        )
    except ChildWorkflowError as err:
        if isinstance(err.cause, CancelledError):
            return BranchResult(branch.position, cancelled=True)
        return BranchResult(branch.position, error=_branch_error(branch, err))
    finally:
        interp.state.children.discard(child_id)
    return BranchResult(branch.position, output=output)


def _branch_search_attributes(interp: Interpreter) -> TypedSearchAttributes:
    """The run's SegmentId and TenantId, so that filtering in the Web UI finds the branches too."""
    pairs = [SearchAttributePair(SEGMENT_ID, interp.run.segment_id)]
    if interp.run.tenant_id:
        pairs.append(SearchAttributePair(TENANT_ID, interp.run.tenant_id))
    return TypedSearchAttributes(pairs)


def _branch_input(interp: Interpreter, join_id: str, branch: Branch) -> BranchInput:
    segment = branch_definition(interp.definition, interp.graph, branch.start, join_id)
    run_input, outputs = needed_context(
        branch_expressions(segment, interp.catalog), interp.run_input, interp.state.outputs
    )
    scope = BranchScope(branch.scope.path, branch.scope.item, branch.scope.index, stop_at=join_id)
    return BranchInput(
        segment=segment,
        start=branch.start,
        scope=scope,
        run=interp.run,
        input=run_input,
        outputs=outputs,
        env=dict(interp.env),
        root_workflow_id=interp.run.run_id,
    )


def _branch_error(branch: Branch, err: ChildWorkflowError) -> BranchError:
    """The deepest failing step, from the details that `SegmentBranchWorkflow` puts on its error."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == BRANCH_FAILED and cause.details:
        where = cause.details[0]
        return BranchError(
            branch.name,
            where["step_id"],
            where["step_type"],
            where["task_path"],
            cause.message,
            where.get("error_type"),
        )
    message, error_type = describe_activity_error(err)
    return BranchError(branch.name, "", "", branch.scope.path, message, error_type)


def branch_failure_error(failure: StepFailure) -> ApplicationError:
    """How a branch workflow reports a failed step to its parent: the deepest step, with its path."""
    if isinstance(failure, BranchFailed):
        origin = failure.origin
        step_id, step_type, path, message = origin.step_id, origin.step_type, origin.task_path, origin.message
    else:
        step_id, step_type, path, message = (
            failure.step_id,
            failure.step_type,
            failure.task_path,
            failure.message,
        )
    error_type = failure.error_type
    details = {"step_id": step_id, "step_type": step_type, "task_path": path, "error_type": error_type}
    return ApplicationError(message, details, type=BRANCH_FAILED, non_retryable=True)
