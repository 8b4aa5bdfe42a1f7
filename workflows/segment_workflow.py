"""`SegmentWorkflow`: the one generic workflow that runs any SegmentDefinition.

Its input is `{"segment": <definition>, "input": {...}, "tenant_id": "..."}`; its result is the
run's output. Temporal history is the only state store: everything the run knows is rebuilt
by replaying it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import CAPTURE_ENV_ACTIVITY, ERROR_EXPRESSION, RunInfo
    from segments.dialects import detect_dialect
    from segments.dialects.loader import parse_any
    from segments.expressions import ExpressionError
    from segments.hashing import definition_hash
    from segments.models import SegmentDefinition
    from segments.rules_version import PATCH_BOUNDED_EXPRESSIONS, legacy_rules
    from segments.schemas import SchemaCheckError, schema_mismatches
    from segments.validation import InvalidSegment, parse_definition
    from workflows.catalogs import worker_catalog
    from workflows.continue_as_new import (
        carried_arrival,
        carried_problem,
        carried_state,
        continue_check,
        restore,
    )
    from workflows.contract import (
        PAUSE_SIGNAL,
        RESPOND,
        RESUME_SIGNAL,
        SEGMENT_WORKFLOW,
        STATUS_QUERY,
        TASK_CLOSED,
        TASK_EVENT_SIGNAL,
        Phase,
        Refusal,
        RunRequest,
        RunStatus,
        refusal_error,
    )
    from workflows.errors import INVALID_INPUT, INVALID_SEGMENT, ContinueAsNewNeeded, StepFailure
    from workflows.interpreter import BranchScope, Interpreter, Nesting
    from workflows.parallel import apply_pause
    from workflows.run_details import MAX_DONE_LISTED, DetailsView, current_details
    from workflows.search_attributes import SEGMENT_ID, SEGMENT_PHASE, TENANT_ID
    from workflows.step_runners import default_runners
    from workflows.subworkflow import child_nesting, child_task_path
    from workflows.task_board import HumanTask, TaskBoard
    from workflows.task_relay import branch_respond, forward, on_task_event, root_listener

PATCH_PIN_DEFINITION = "pin-definition-in-memo"
PATCH_IMPORT_DIALECTS = "import-llmteam-dialect"


@workflow.defn(name=SEGMENT_WORKFLOW)
class SegmentWorkflow:
    def __init__(self) -> None:
        self._interp: Interpreter | None = None
        self._phase: Phase = "running"
        self._published_phase: str | None = None
        self._paused = False
        self._segment_id: str | None = None
        self._tenant_id: str | None = None
        self._error: str | None = None
        self._board = TaskBoard(self._tasks_changed)
        self._nesting: Nesting | None = None
        """Set when this run is a `subworkflow` step's child (see workflows/subworkflow.py)."""

    @workflow.run
    async def run(self, raw_request: Any) -> Any:
        """`raw_request` is parsed here, not by the data converter: a malformed input must fail
        the run with a clear error, not its workflow task over and over."""
        request = RunRequest.from_wire(raw_request)
        if request is None:
            raise ApplicationError(
                'the workflow input must be {"segment": <definition>, "input": {...}, "tenant_id": "..."}',
                type=INVALID_INPUT,
                non_retryable=True,
            )
        segment = request.segment
        run_input = request.input
        self._tenant_id = request.tenant_id
        seg_id = segment.get("segment_id") if isinstance(segment, dict) else None
        self._segment_id = seg_id if isinstance(seg_id, str) else None
        self._nesting = child_nesting(request.subworkflow)
        if self._nesting is not None:  # a subworkflow's child: its tasks are answered through the root
            self._board.listener = root_listener(self._nesting.root_workflow_id, self._tasks_changed)
        self._publish_identity()
        self._pin_definition(segment)
        try:
            definition, segment = self._parse(segment)
            self._board.human_steps = {s.step_id for s in definition.steps if s.type == "human_task"}
            self._board.resolve_pending()
            self._check_input(definition.input_schema, run_input)
            carried = request.resume
            if carried is not None and (problem := carried_problem(carried)):
                raise ApplicationError(
                    f"the workflow input's 'resume' section is malformed: {problem}",
                    type=INVALID_INPUT,
                    non_retryable=True,
                )
            env = carried["env"] if carried else await self._capture_env(segment)
            nesting = self._nesting
            run = RunInfo(
                run_id=nesting.root_workflow_id if nesting else workflow.info().workflow_id,
                segment_id=definition.segment_id,
                tenant_id=self._tenant_id,
                started_at=carried["started_at"] if carried else workflow.info().start_time.isoformat(),
            )
            scope = BranchScope(path=child_task_path(request.subworkflow or {})) if nesting else None
            self._interp = Interpreter(
                definition, worker_catalog(), default_runners(), run, run_input, env, scope
            )
            self._interp.human_tasks = self._board
            self._interp.on_change = self._refresh_details
            if nesting:
                own = self._interp.nesting.chain
                self._interp.nesting = Nesting(nesting.root_workflow_id, nesting.depth, nesting.chain or own)
            if carried:
                try:
                    restore(self._interp, self._board, carried)
                except (KeyError, TypeError, ValueError) as err:  # pydantic's ValidationError too
                    raise ApplicationError(
                        f"the workflow input's 'resume' section is malformed ({type(err).__name__})",
                        type=INVALID_INPUT,
                        non_retryable=True,
                    ) from None
                self._paused = self._paused or bool(carried.get("paused"))
            self._interp.state.paused = self._paused
            self._interp.continue_check = continue_check(self._interp, request.options)
            start = carried["next_step"] if carried else self._interp.graph.entrypoint(definition.entrypoint)
            assert start is not None  # validation guarantees one
            ended = await self._interp.run_from(start, carried_arrival(carried) if carried else None)
            await self._board.drain()
            result = self._interp.output(definition.output) if definition.output is not None else ended
        except ContinueAsNewNeeded as boundary:
            await self._continue_as_new(request, boundary.next_step, boundary.arrival)
        except InvalidSegment as err:
            self._fail(str(err))
            raise ApplicationError(
                str(err), [p.to_dict() for p in err.problems], type=INVALID_SEGMENT, non_retryable=True
            ) from None
        except StepFailure as failure:
            error = failure.to_application_error()
            self._fail(error.message)
            raise error from None
        except ExpressionError as err:
            self._fail(f"output: {err.message}")
            raise ApplicationError(
                f"output: {err.message} in '{err.expression}'", type=ERROR_EXPRESSION, non_retryable=True
            ) from None
        except ApplicationError as err:
            self._fail(err.message)
            raise
        except asyncio.CancelledError:
            self._board.cancel_all()
            self._set_phase("cancelled")
            raise
        self._set_phase("completed")
        return result

    async def _continue_as_new(self, request: RunRequest, next_step: str, arrival: Any = None) -> None:
        """Hand the run over to a fresh history; see workflows/continue_as_new.py."""
        assert self._interp is not None
        await self._board.drain()
        await workflow.wait_condition(workflow.all_handlers_finished)
        carried = carried_state(self._interp, self._board, next_step, self._paused, arrival)
        workflow.continue_as_new(replace(request, resume=dict(carried)).to_wire())

    # --- start-up ----------------------------------------------------------------------

    def _parse(self, segment: Any) -> tuple[SegmentDefinition, Any]:
        """The definition to run and its JSON. An export in another dialect (llmteam), sent by a
        client that did not translate it, is translated here; this came after runs were in flight,
        so behind a patch asked only for such exports (other runs get no marker event)."""
        if detect_dialect(segment) is None or not workflow.patched(PATCH_IMPORT_DIALECTS):
            return self._parse_native(segment), segment
        definition, loaded = parse_any(segment, worker_catalog())
        workflow.upsert_memo({**loaded.memo(), "translation_hash": definition_hash(loaded.definition)})
        return definition, loaded.definition

    def _parse_native(self, segment: Any) -> SegmentDefinition:
        """The definition under today's rules; one that only the first rules accept (a `$eval`, a
        remote `$ref`, a backtracking regex) runs only in a history recorded before the bounds."""
        try:
            return parse_definition(segment, worker_catalog())
        except InvalidSegment:
            with legacy_rules():
                try:
                    legacy = parse_definition(segment, worker_catalog())
                except InvalidSegment:
                    legacy = None
            if legacy is None or workflow.patched(PATCH_BOUNDED_EXPRESSIONS):
                raise
            return legacy

    def _check_input(self, schema: dict[str, Any] | None, run_input: Any) -> None:
        if not schema:
            return
        try:
            mismatches = schema_mismatches(run_input, schema, limit=20)
        except SchemaCheckError as err:
            raise ApplicationError(
                f"the run's input cannot be checked against the segment's input_schema: {err}",
                type=INVALID_INPUT,
                non_retryable=True,
            ) from None
        if mismatches:
            lines = "\n".join(f"- {m.replace('at $', 'input', 1)}" for m in mismatches)
            raise ApplicationError(
                f"the run's input does not match the segment's input_schema:\n{lines}",
                type=INVALID_INPUT,
                non_retryable=True,
            )

    async def _capture_env(self, segment: dict[str, Any]) -> dict[str, str]:
        """`$env` values, read once per run by a local activity so that replay sees the same values."""
        if "$env" not in json.dumps(segment):
            return {}
        values: dict[str, str] = await workflow.execute_local_activity(
            CAPTURE_ENV_ACTIVITY,
            start_to_close_timeout=timedelta(seconds=10),
            summary="$env · read once for the whole run",
        )
        return values

    # --- phase and search attributes ---------------------------------------------------

    def _publish_identity(self) -> None:
        present = workflow.info().typed_search_attributes
        updates = []
        # a subworkflow's child keeps the root's SegmentId: filtering by it finds every part of the run
        inherited = self._nesting is not None and present.get(SEGMENT_ID) is not None
        if self._segment_id and present.get(SEGMENT_ID) != self._segment_id and not inherited:
            updates.append(SEGMENT_ID.value_set(self._segment_id))
        if self._tenant_id and present.get(TENANT_ID) != self._tenant_id:
            updates.append(TENANT_ID.value_set(self._tenant_id))
        if present.get(SEGMENT_PHASE) == "running":
            self._published_phase = "running"
        else:
            updates.append(SEGMENT_PHASE.value_set("running"))
            self._published_phase = "running"
        if updates:
            workflow.upsert_search_attributes(updates)

    def _visible_phase(self) -> Phase:
        """`paused` outranks `waiting_human`: a paused run starts no step, answered or not."""
        if self._phase != "running":
            return self._phase
        if self._paused:
            return "paused"
        return "waiting_human" if self._board.has_open() else "running"

    def _pin_definition(self, segment: Any) -> None:
        """Record the definition's hash and version in the memo, for runs whose client did not.

        Added after runs were already in flight: behind a patch, so their histories replay."""
        if workflow.memo_value("segment_hash", None) is not None or not isinstance(segment, dict):
            return  # pinned by the client at start (SegmentsClient does): no marker, no extra event
        if workflow.patched(PATCH_PIN_DEFINITION):
            workflow.upsert_memo(
                {"segment_hash": definition_hash(segment), "segment_version": segment.get("version")}
            )

    def _set_phase(self, phase: Phase) -> None:
        self._phase = phase
        visible = self._visible_phase()
        if visible != self._published_phase:
            self._published_phase = visible
            workflow.upsert_search_attributes([SEGMENT_PHASE.value_set(visible)])
        self._refresh_details()

    def _refresh_details(self) -> None:
        """The Web UI's "Current details" (workflows/run_details.py); no command, no history event."""
        interp = self._interp
        done = interp.state.done[-MAX_DONE_LISTED:] if interp else []
        workflow.set_current_details(
            current_details(
                DetailsView(
                    run_id=workflow.info().workflow_id,
                    phase=self._visible_phase(),
                    steps_done=[f"{r.task_path}{r.step_id}" for r in done],
                    steps_done_total=interp.done_total() if interp else 0,
                    steps_running=sorted(interp.state.running) if interp else [],
                    open_tasks=self._board.open_tasks(),
                    error=self._error,
                )
            )
        )

    def _fail(self, message: str) -> None:
        self._error = message
        self._board.cancel_all()
        self._set_phase("failed")

    # --- the Temporal interface ----------------------------------------------------------

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> RunStatus:
        """The run's phase, steps done, running and pending, and open human tasks."""
        interp = self._interp
        phase = self._visible_phase()
        ended = phase in ("completed", "failed", "cancelled")  # nothing is pending once the run ended
        return RunStatus(
            run_id=workflow.info().workflow_id,
            segment_id=self._segment_id,
            tenant_id=self._tenant_id,
            phase=phase,
            steps_done=[asdict(r) for r in interp.state.done] if interp else [],
            steps_done_total=interp.done_total() if interp else 0,
            steps_running=[asdict(r) for r in interp.state.running.values()] if interp else [],
            steps_pending=interp.pending_steps() if interp and not ended else [],
            **self._board.status_fields(),
            error=self._error,
        )

    @workflow.signal(name=PAUSE_SIGNAL)
    async def pause(self, *_ignored: Any) -> None:
        """No new step starts until `resume`, in this run and its running branches; steps already
        running finish. (Arguments, which a raw client may send, are ignored.)"""
        await self._set_paused(True)

    @workflow.signal(name=RESUME_SIGNAL)
    async def resume(self, *_ignored: Any) -> None:
        await self._set_paused(False)

    async def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        if self._phase == "running":
            self._set_phase("running")
        await apply_pause(self._interp, paused)

    # --- human tasks: see workflows/task_board.py ------------------------------------------

    def _tasks_changed(self, event: str, task: HumanTask) -> None:
        if self._phase == "running":
            self._set_phase("running")  # waiting_human while any task is open
        else:
            self._refresh_details()

    @workflow.update(name=RESPOND)
    async def respond_update(self, payload: Any) -> dict[str, Any]:
        """Answer a human task (`contract.TaskAnswer`); returns the accepted answer.

        The validator refuses a bad answer with its reason and kind (`contract.REFUSAL_TYPES`)
        before the update is accepted, so a refused answer leaves no trace in history."""
        checked = self._board.check_payload(payload)
        if isinstance(checked, Refusal):  # the task changed between validation and now
            raise refusal_error(checked)
        accepted = self._board.accept(checked)
        task = self._board.tasks[checked.task_id]
        if task.owner is not None:
            failed = await forward(task, checked)
            if failed:
                raise refusal_error(Refusal(TASK_CLOSED, failed))
        return accepted.result()

    @respond_update.validator
    def _validate_respond(self, payload: Any) -> None:
        checked = self._board.check_payload(payload)
        if isinstance(checked, Refusal):
            raise refusal_error(checked)

    @workflow.signal(name=RESPOND)
    async def respond_signal(self, payload: Any) -> None:
        """Fire-and-forget answer: checked like the update; a refusal shows in `refused_signals`,
        an answer to a task not open yet waits in `pending_responses` until it opens."""
        if self._nesting is not None:  # forwarded by the root, which checked it first
            await branch_respond(self._board, self._nesting.root_workflow_id, payload)
            return
        accepted = self._board.receive_signal(payload)
        if accepted is not None:
            task = self._board.tasks[accepted.task_id]
            if task.owner is not None:
                failed = await forward(task, accepted)
                if failed:
                    self._board.refuse(payload, failed)

    @workflow.signal(name=TASK_EVENT_SIGNAL)
    async def task_event(self, event: Any) -> None:
        """A parallel branch's task opened, escalated, closed or refused an answer; checked first
        (`task_relay.parse_task_event`), a bad one is listed in `refused_signals`."""
        await on_task_event(self._board, event, workflow.info().workflow_id)
