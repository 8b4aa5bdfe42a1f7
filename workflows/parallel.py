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

A large map runs in batches: one child per run of consecutive items, each item still its own
branch inside it (workflows/map_batches.py, workflows/batch_items.py); `max_concurrency` then
counts items in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, CancelledError, ChildWorkflowError

from activities.contracts import ERROR_CONFIG, ERROR_EXPRESSION
from segments.catalog import StepType
from segments.expressions import ExpressionError
from segments.models import Step
from segments.step_configs.parallel import ParallelJoinConfig, ParallelSplitConfig
from workflows.branch_input import (
    BRANCH_WORKFLOW_NAME,
    BranchInput,
    MapBatch,
    branch_definition,
    branch_expressions,
    narrowed_input,
    needed_context,
)
from workflows.contract import PAUSE_SIGNAL, RESUME_SIGNAL
from workflows.errors import StepFailure, describe_activity_error
from workflows.interpreter import Arrival, BranchScope, Interpreter, StepOutcome
from workflows.join_policy import CANCELLED_ENTRY, BranchError, BranchResult, JoinTally
from workflows.map_batches import BatchPlan, batch_ranges, batch_size, check_batches, events_per_item, plan
from workflows.search_attributes import SEGMENT_ID, TENANT_ID

MAX_IN_FLIGHT = 500
"""Children running at once when the split sets no `max_concurrency`."""
MAX_MAP_ITEMS = 2_000
"""More items would take the parent's history past Temporal's limits; split the list upstream."""
BRANCH_FAILED = "BranchFailed"
PATCH_MAP_BATCHES = "map-batches"
"""Maps over more than `map_batches.SMALL_MAP` items (or with `batch_size`) run in batches."""


@dataclass(frozen=True)
class Branch:
    position: int
    name: str
    start: str
    scope: BranchScope
    arrival: Arrival | None = None


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
    collect = join.on_branch_error == "collect"
    tally = JoinTally([b.name for b in branches], needed, collect, mapped=split.items is not None)
    limit = split.max_concurrency or MAX_IN_FLIGHT
    batches = _batch_plan(interp, step, split, join_id, branches, limit)
    if batches is not None:
        await _run_batches(interp, step, join_id, branches, tally, batches, visit)
    else:
        _check_unbatched(step, interp, len(branches))
        await _run_branches(interp, step, join_id, branches, tally, limit)
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
            ERROR_CONFIG,
            interp.scope.path,
        ) from None


def _plan(interp: Interpreter, step: Step, split: ParallelSplitConfig, visit: int) -> list[Branch]:
    """The branches, in order: one per outgoing edge, or one per item in a map."""
    suffix = f"#{visit}" if visit > 1 else ""
    parent = interp.scope
    own = interp.state.arrivals.get(step.step_id) if interp.prev_enabled else None
    if split.items is None:
        arrival = Arrival(step.step_id, own.prev) if own is not None else None
        return [
            Branch(
                i,
                start,
                start,
                BranchScope(f"{parent.path}{start}{suffix}/", parent.item, parent.index),
                arrival,
            )
            for i, start in enumerate(interp.graph.all_targets(step.step_id))
        ]
    items = _items(interp, step, split.items)
    (start,) = interp.graph.all_targets(step.step_id)
    return [
        Branch(
            i,
            f"{start}[{i}]",
            start,
            BranchScope(f"{parent.path}{start}[{i}]{suffix}/", item, i),
            Arrival(step.step_id, item) if own is not None else None,
        )
        for i, item in enumerate(items)
    ]


def _items(interp: Interpreter, step: Step, expression: str) -> list[Any]:
    """The map's list. Undefined is no item; a single value is one item (JSONata gives a single
    value, not a list of one, for a path that matches once)."""
    try:
        value = interp.evaluate(expression, step.step_id)
    except ExpressionError as err:
        raise StepFailure(
            step.step_id, step.type, f"items: {err.message}", ERROR_EXPRESSION, interp.scope.path
        ) from None
    return [] if value is None else value if isinstance(value, list) else [value]


def _check_unbatched(step: Step, interp: Interpreter, items: int) -> None:
    if items > MAX_MAP_ITEMS:
        raise StepFailure(
            step.step_id,
            step.type,
            f"items gave {items} items; a map runs at most {MAX_MAP_ITEMS} one child per item: "
            "leave batch_size unset (or set it above 1) to batch them, or split the list upstream",
            "TooManyItems",
            interp.scope.path,
        )


def _batch_plan(
    interp: Interpreter,
    step: Step,
    split: ParallelSplitConfig,
    join_id: str,
    branches: list[Branch],
    limit: int,
) -> BatchPlan | None:
    """How a map runs in batches (workflows/map_batches.py); None: one child per branch, as
    before batching existed (edge splits, small maps, and runs recorded before the patch)."""
    if split.items is None or not branches:
        return None
    segment = branch_definition(interp.definition, interp.graph, branches[0].start, join_id)
    per_item = events_per_item(segment, interp.catalog)
    size = batch_size(len(branches), split.batch_size, per_item)
    if size <= 1 or not workflow.patched(PATCH_MAP_BATCHES):
        return None
    problem = check_batches(len(branches), size, per_item)
    if problem is not None:
        raise StepFailure(step.step_id, step.type, problem, "TooManyItems", interp.scope.path)
    return plan(len(branches), size, limit)


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


async def _run_batches(
    interp: Interpreter,
    split: Step,
    join_id: str,
    branches: list[Branch],
    tally: JoinTally,
    batches: BatchPlan,
    visit: int,
) -> None:
    """Like `_run_branches`, with a child workflow per batch of consecutive items; each item's
    entry is recorded in the tally as its own branch."""
    template = _branch_input(interp, join_id, branches[0])
    expressions = branch_expressions(template.segment, interp.catalog)
    template = replace(template, input=narrowed_input(expressions, template.input))
    queue = deque(batch_ranges(len(branches), batches.size))
    running: dict[asyncio.Task[list[dict[str, Any]]], range] = {}

    def record(positions: range, entries: list[dict[str, Any]]) -> None:
        for position, entry in zip(positions, entries, strict=True):
            tally.record(_item_result(branches[position], entry))

    try:
        while not tally.decided:
            while queue and len(running) < batches.batches_at_once:
                positions = queue.popleft()
                batch = _map_batch(interp, branches, positions, batches, tally, visit)
                child = replace(template, batch=batch, scope=replace(template.scope, path=batch.path()))
                running[asyncio.create_task(_run_batch(interp, split, child, positions))] = positions
            done, _ = await workflow.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: running[t].start):
                record(running.pop(task), task.result())
    finally:
        for task in running:
            task.cancel()
        results = await asyncio.gather(*running, return_exceptions=True)
        for positions, result in zip(running.values(), results, strict=True):
            record(positions, result if isinstance(result, list) else [CANCELLED_ENTRY] * len(positions))


def _map_batch(
    interp: Interpreter,
    branches: list[Branch],
    positions: range,
    batches: BatchPlan,
    tally: JoinTally,
    visit: int,
) -> MapBatch:
    first = branches[positions.start]
    return MapBatch(
        items=[branches[p].scope.item for p in positions],
        first_index=positions.start,
        path_prefix=f"{interp.scope.path}{first.start}",
        path_suffix=f"#{visit}" if visit > 1 else "",
        at_once=batches.items_at_once,
        stop_on_error=not tally.collect,
    )


async def _run_batch(
    interp: Interpreter, split: Step, request: BranchInput, positions: range
) -> list[dict[str, Any]]:
    """One batch's entries, one per item; a batch that failed as a whole fails each of its items."""
    child_id = f"{interp.run.run_id}/{request.scope.path.rstrip('/')}"
    await workflow.wait_condition(lambda: not interp.state.paused)  # a paused run starts no batch
    interp.state.children.add(child_id)
    try:
        entries: list[dict[str, Any]] = await workflow.execute_child_workflow(
            BRANCH_WORKFLOW_NAME,
            request,
            id=child_id,
            cancellation_type=workflow.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
            static_summary=f"Items {positions.start} to {positions.stop - 1} of {split.label}",
            search_attributes=branch_search_attributes(interp),
        )
    except ChildWorkflowError as err:
        if isinstance(err.cause, CancelledError):
            return [CANCELLED_ENTRY] * len(positions)
        message, error_type = describe_activity_error(err)
        where = {"step_id": "", "step_type": "", "task_path": request.scope.path, "error_type": error_type}
        return [{"error": {**where, "message": message}}] * len(positions)
    finally:
        interp.state.children.discard(child_id)
    return entries


def _item_result(branch: Branch, entry: dict[str, Any]) -> BranchResult:
    if "output" in entry:
        return BranchResult(branch.position, output=entry["output"])
    if "error" in entry:
        where = entry["error"]
        error = BranchError(
            branch.name,
            where["step_id"],
            where["step_type"],
            where["task_path"],
            where["message"],
            where.get("error_type"),
        )
        return BranchResult(branch.position, error=error)
    return BranchResult(branch.position, cancelled=True)


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
            search_attributes=branch_search_attributes(interp),
        )
    except ChildWorkflowError as err:
        if isinstance(err.cause, CancelledError):
            return BranchResult(branch.position, cancelled=True)
        return BranchResult(branch.position, error=_branch_error(branch, err))
    finally:
        interp.state.children.discard(child_id)
    return BranchResult(branch.position, output=output)


def branch_search_attributes(interp: Interpreter) -> TypedSearchAttributes:
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
        arrival=branch.arrival,
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
    origin = failure_origin(failure)
    message = origin.pop("message")
    return ApplicationError(message, origin, type=BRANCH_FAILED, non_retryable=True)


def failure_origin(failure: StepFailure) -> dict[str, Any]:
    """Where a branch failed: the deepest step (`step_id`, `step_type`, `task_path`), its
    `message` and `error_type`."""
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
    return {
        "step_id": step_id,
        "step_type": step_type,
        "task_path": path,
        "error_type": failure.error_type,
        "message": message,
    }
