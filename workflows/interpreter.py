"""Walks a segment's graph inside a workflow: runs each step, routes by its port, keeps outputs.

Deterministic code only: everything that touches the outside world runs as an activity, and
expressions see the workflow's clock and replay-safe random numbers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError
from temporalio import workflow

from activities.contracts import ERROR_CONFIG, ERROR_EXPRESSION, RunInfo
from segments.catalog import Catalog, StepType
from segments.expressions import (
    DEFAULT_LIMITS,
    EvalClock,
    ExpressionError,
    ExpressionLimits,
    evaluate,
    evaluate_output,
    has_template,
    render,
)
from segments.graph import Graph
from segments.models import SegmentDefinition, Step
from segments.rules_version import PATCH_BOUNDED_EXPRESSIONS
from workflows.errors import ContinueAsNewNeeded, StepFailure
from workflows.task_board import TaskBoard
from workflows.tracing import record_step_span


@dataclass
class StepOutcome:
    output: Any
    port: str = "out"
    route_from: str | None = None
    """Follow this step's edges instead of the step that ran: a parallel_split that ran its branches
    and its join hands control back at the join."""


StepRunner = Callable[["Interpreter", Step, StepType, dict[str, Any], int], Awaitable[StepOutcome]]
"""Runs one visit of a step: (interpreter, step, its type, its rendered config, visit number)."""


@dataclass
class StepRecord:
    """One finished step visit, as `status` reports it."""

    step_id: str
    visit: int
    port: str
    finished_at: str
    task_path: str = ""


@dataclass
class RunningStep:
    step_id: str
    step_type: str
    visit: int
    started_at: str


@dataclass
class Arrival:
    """How a path reached a step: `prev_step` is the step whose edge led here and `prev` its
    output (at the entrypoint: no step, and the run's input)."""

    prev_step: str | None = None
    prev: Any = None


@dataclass
class Nesting:
    """Where a run sits among subworkflows: the root workflow that lists every human task, how
    deep this run is (the root: 0), and the stored segments (`id@version`) on the way here."""

    root_workflow_id: str
    depth: int = 0
    chain: list[str] = field(default_factory=list)


@dataclass
class BranchScope:
    """Where a branch of a parallel split runs: its path, its map item, and where it stops."""

    path: str = ""
    item: Any = None
    index: int | None = None
    stop_at: str | None = None


@dataclass
class InterpreterState:
    """What the interpreter knows of a run; everything here is plain data."""

    outputs: dict[str, Any] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    done: list[StepRecord] = field(default_factory=list)
    running: dict[str, RunningStep] = field(default_factory=dict)
    ended: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    children: set[str] = field(default_factory=set)
    """Workflow ids of the branch children running now: pause and resume are forwarded to them."""
    arrivals: dict[str, Arrival] = field(default_factory=dict)
    """How each step's latest visit was reached: its `prev` and `prev_step`."""


PATCH_PREV = "expression-prev"


def _reads_prev(definition: SegmentDefinition) -> bool:
    return "prev" in json.dumps(definition.to_dict()["steps"]) or "prev" in json.dumps(definition.output)


def workflow_clock() -> EvalClock:
    return EvalClock(now_ms=lambda: int(workflow.now().timestamp() * 1000), random=workflow.random().random)


class Interpreter:
    def __init__(
        self,
        definition: SegmentDefinition,
        catalog: Catalog,
        runners: dict[str, StepRunner],
        run: RunInfo,
        run_input: Any,
        env: dict[str, str],
        scope: BranchScope | None = None,
    ) -> None:
        self.definition = definition
        self.graph = Graph.build(definition)
        self.catalog = catalog
        self.runners = runners
        self.run = run
        self.run_view = asdict(run)
        """`run` as expressions see it; converted once, read by every step."""
        self.run_input = run_input
        self.env = env
        self.scope = scope or BranchScope()
        self.state = InterpreterState()
        self.clock = workflow_clock()
        self._limits: ExpressionLimits | None = None
        self.continue_check: Callable[[], bool] | None = None
        """Set by the root workflow: asked at each quiet step boundary whether to continue as new."""
        self.steps_this_run = 0
        """Step visits finished in this Temporal run (not counting earlier runs of the chain)."""
        self.done_before = 0
        """Step visits finished in earlier runs of a run that continued as new."""
        self._active_paths = 0
        self.prev_enabled = _reads_prev(definition) and workflow.patched(PATCH_PREV)
        """`prev`/`prev_step` in expressions: added after runs were in flight, so behind a patch
        (asked only of definitions that mention `prev`: other runs get no marker event)."""
        self.nesting = Nesting(run.run_id, 0, [f"{definition.segment_id}@{definition.version}"])
        """Set by a subworkflow's child run from its request; read by `subworkflow` steps."""
        self.human_tasks: TaskBoard | None = None
        """Where human_task steps list their tasks; set by the workflow that owns this interpreter
        (the root's board, or a branch's board that reports to the root)."""
        self.on_change: Callable[[], None] | None = None
        """Called when a step starts or finishes (the root keeps the Web UI's current details)."""

    # --- expressions -------------------------------------------------------------------

    def document(self, step_id: str | None = None) -> dict[str, Any]:
        """What expressions see: input, steps.<id>.output, run, item/index in a map branch, and,
        for a step's expressions, `prev` and `prev_step` (how that step's visit was reached)."""
        doc: dict[str, Any] = {
            "input": self.run_input,
            "steps": {step_id: {"output": output} for step_id, output in self.state.outputs.items()},
            "run": self.run_view,
        }
        if self.scope.index is not None:
            doc["item"] = self.scope.item
            doc["index"] = self.scope.index
        arrival = self.state.arrivals.get(step_id) if step_id is not None and self.prev_enabled else None
        if arrival is not None:
            doc["prev"] = arrival.prev
            doc["prev_step"] = arrival.prev_step
        return doc

    def limits(self) -> ExpressionLimits:
        """The bounds of expressions in this run: asked once, at the first expression, so a run
        recorded before the bounds replays with the evaluator it ran with."""
        if self._limits is None:
            bounded = workflow.patched(PATCH_BOUNDED_EXPRESSIONS)
            self._limits = DEFAULT_LIMITS if bounded else ExpressionLimits.legacy()
        return self._limits

    def evaluate(self, expression: str, step_id: str | None = None) -> Any:
        return evaluate(expression, self.document(step_id), self.clock, self.env, self.limits())

    def render(self, value: Any) -> Any:
        if not has_template(value):
            return value
        return render(value, self.document(), self.clock, self.env, self.limits())

    def output(self, output: Any) -> Any:
        """The run's result from the definition's `output` (an expression or a template)."""
        if not isinstance(output, str) and not has_template(output):
            return output
        return evaluate_output(output, self.document(), self.clock, self.env, self.limits())

    def render_config(self, step: Step, step_type: StepType) -> dict[str, Any]:
        """The step's config with templates rendered, except in the type's expression fields."""
        templated = {
            key
            for key, value in step.config.items()
            if key not in step_type.expression_fields and has_template(value)
        }
        if not templated:
            return dict(step.config)
        document, limits = self.document(step.step_id), self.limits()
        return {
            key: render(value, document, self.clock, self.env, limits) if key in templated else value
            for key, value in step.config.items()
        }

    # --- walking the graph -------------------------------------------------------------

    async def run_from(self, start: str, arrival: Arrival | None = None) -> dict[str, Any]:
        """Run every path from `start` until each has ended; returns the outputs of the ending steps.

        `arrival` is how `start` was reached; by default it is the entrypoint's: `prev` is the
        run's input."""
        await self._walk(start, arrival or Arrival(None, self.run_input))
        return self.state.ended

    async def _walk(self, step_id: str, arrival: Arrival) -> None:
        self._active_paths += 1
        try:
            await self._walk_path(step_id, arrival)
        finally:
            self._active_paths -= 1

    def _quiet(self) -> bool:
        """One path, nothing running, no task open: the whole run's state is plain data."""
        board = self.human_tasks
        return (
            self._active_paths == 1
            and not self.state.running
            and not self.state.children
            and (board is None or not board.has_open())
        )

    def done_total(self) -> int:
        return self.done_before + len(self.state.done)

    async def _walk_path(self, step_id: str, arrival: Arrival) -> None:
        current = step_id
        while True:
            if current == self.scope.stop_at:
                return
            if self.continue_check is not None and self._quiet() and self.continue_check():
                raise ContinueAsNewNeeded(current, arrival)
            outcome = await self.run_step(current, arrival)
            source = outcome.route_from or current
            arrival = Arrival(source, outcome.output)
            targets = self.graph.targets(source, outcome.port)
            if self.scope.stop_at is not None:
                if self.scope.stop_at in targets:
                    self.state.ended[source] = outcome.output
                targets = [t for t in targets if t != self.scope.stop_at]
            elif not targets:
                self.state.ended[source] = outcome.output
            if not targets:
                return
            if len(targets) > 1:
                # this path ends here and becomes one per target; while it only waits for them it
                # is not counted as active, so a run that forked can still reach a quiet boundary
                self._active_paths -= 1
                try:
                    await asyncio.gather(*(self._walk(t, arrival) for t in targets))
                finally:
                    self._active_paths += 1
                return
            current = targets[0]

    async def run_step(self, step_id: str, arrival: Arrival | None = None) -> StepOutcome:
        step = self.graph.steps[step_id]
        step_type = self.catalog.get(step.type)
        if step_type is None:  # validation makes this unreachable; kept for a clear message
            raise StepFailure(
                step_id, step.type, f"unknown step type '{step.type}'", task_path=self.scope.path
            )
        visit = self.state.visits.get(step_id, 0) + 1
        if visit > step.max_visits:
            raise StepFailure(
                step_id,
                step.type,
                f"would run a {visit}th time, past its max_visits of {step.max_visits}; "
                "a loop that never ends? Raise max_visits if it should run more often",
                "MaxVisitsExceeded",
                self.scope.path,
            )
        await workflow.wait_condition(lambda: not self.state.paused)
        self.state.visits[step_id] = visit
        if arrival is not None:
            self.state.arrivals[step_id] = arrival
        self.state.running[step_id] = RunningStep(step_id, step.type, visit, workflow.now().isoformat())
        self._changed()
        try:
            outcome = await self._dispatch(step, step_type, visit)
        except StepFailure as failure:
            if step.on_error != "route":
                raise
            outcome = StepOutcome(failure.as_output(), "error")
        finally:
            self.state.running.pop(step_id, None)
        if outcome.route_from is None:
            self._record(step_id, visit, outcome)
        else:
            self._record(step_id, visit, StepOutcome(None, "out"))
        self._changed()
        return outcome

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def record_visit(self, step_id: str, outcome: StepOutcome) -> None:
        """Count and record a visit of a step that another step's runner completed (a parallel_join)."""
        visit = self.state.visits.get(step_id, 0) + 1
        self.state.visits[step_id] = visit
        self._record(step_id, visit, outcome)

    def _record(self, step_id: str, visit: int, outcome: StepOutcome) -> None:
        self.steps_this_run += 1
        self.state.outputs[step_id] = outcome.output
        self.state.done.append(
            StepRecord(step_id, visit, outcome.port, workflow.now().isoformat(), self.scope.path)
        )
        step = self.graph.steps[step_id]
        step_type = self.catalog.get(step.type)
        if step_type is not None and step_type.runs_as not in ("activity", "local_activity"):
            record_step_span(step_id, step.type, visit, outcome.port, self.scope.path)

    async def _dispatch(self, step: Step, step_type: StepType, visit: int) -> StepOutcome:
        runner = self.runners.get(step.type) or self.runners.get(step_type.runs_as)
        if runner is None:
            raise StepFailure(
                step.step_id,
                step.type,
                f"this worker cannot run '{step.type}' steps",
                task_path=self.scope.path,
            )
        try:
            config = self.render_config(step, step_type)
            step_type.config_model.model_validate(config)
        except ExpressionError as err:
            raise StepFailure(
                step.step_id,
                step.type,
                f"config: {err.message} in '{err.expression}'",
                ERROR_EXPRESSION,
                self.scope.path,
            ) from None
        except ValidationError as err:
            details = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors(include_url=False)
            )
            raise StepFailure(
                step.step_id,
                step.type,
                f"config after templates: {details}",
                ERROR_CONFIG,
                self.scope.path,
            ) from None
        return await runner(self, step, step_type, config, visit)

    def pending_steps(self) -> list[str]:
        """Steps not yet visited and not running, in definition order."""
        return [s for s in self.graph.order if s not in self.state.visits]
