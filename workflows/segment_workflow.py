"""`SegmentWorkflow`: the one generic workflow that runs any SegmentDefinition.

Its input is `{"segment": <definition>, "input": {...}, "tenant_id": "..."}`; its result is the
run's output. Temporal history is the only state store: everything the run knows is rebuilt
by replaying it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import jsonschema

    from activities.contracts import CAPTURE_ENV_ACTIVITY, RunInfo
    from segments.expressions import ExpressionError
    from segments.registry import worker_catalog
    from segments.validation import InvalidSegment, parse_definition
    from workflows.errors import INVALID_INPUT, INVALID_SEGMENT, StepFailure
    from workflows.interpreter import Interpreter
    from workflows.search_attributes import SEGMENT_ID, SEGMENT_PHASE, TENANT_ID
    from workflows.step_runners import default_runners

WORKFLOW_NAME = "SegmentWorkflow"


@workflow.defn(name=WORKFLOW_NAME)
class SegmentWorkflow:
    def __init__(self) -> None:
        self._interp: Interpreter | None = None
        self._phase = "running"
        self._published_phase: str | None = None
        self._paused = False
        self._segment_id: str | None = None
        self._tenant_id: str | None = None
        self._error: str | None = None

    @workflow.run
    async def run(self, request: dict[str, Any]) -> Any:
        if not isinstance(request, dict) or "segment" not in request:
            raise ApplicationError(
                'the workflow input must be {"segment": <definition>, "input": {...}, "tenant_id": "..."}',
                type=INVALID_INPUT, non_retryable=True,
            )
        segment = request["segment"]
        run_input = request.get("input") or {}
        self._tenant_id = request.get("tenant_id")
        self._segment_id = segment.get("segment_id") if isinstance(segment, dict) else None
        self._publish_identity()
        try:
            definition = parse_definition(segment, worker_catalog())
            self._check_input(definition.input_schema, run_input)
            env = await self._capture_env(segment)
            run = RunInfo(
                run_id=workflow.info().workflow_id,
                segment_id=definition.segment_id,
                tenant_id=self._tenant_id,
                started_at=workflow.info().start_time.isoformat(),
            )
            self._interp = Interpreter(definition, worker_catalog(), default_runners(), run, run_input, env)
            self._interp.state.paused = self._paused
            start = self._interp.graph.entrypoint(definition.entrypoint)
            assert start is not None  # validation guarantees one
            ended = await self._interp.run_from(start)
            result = self._interp.render(definition.output) if definition.output is not None else ended
        except InvalidSegment as err:
            self._fail(str(err))
            raise ApplicationError(str(err), [p.to_dict() for p in err.problems], type=INVALID_SEGMENT,
                                   non_retryable=True) from None
        except StepFailure as failure:
            error = failure.to_application_error()
            self._fail(error.message)
            raise error from None
        except ExpressionError as err:
            self._fail(f"output: {err.message}")
            raise ApplicationError(f"output: {err.message} in '{err.expression}'", type="ExpressionError",
                                   non_retryable=True) from None
        except ApplicationError as err:
            self._fail(err.message)
            raise
        except asyncio.CancelledError:
            self._set_phase("cancelled")
            raise
        self._set_phase("completed")
        return result

    # --- start-up ----------------------------------------------------------------------

    def _check_input(self, schema: dict[str, Any] | None, run_input: Any) -> None:
        if not schema:
            return
        errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(run_input), key=str)
        if errors:
            lines = "\n".join(
                f"- input{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}" for e in errors[:20]
            )
            raise ApplicationError(f"the run's input does not match the segment's input_schema:\n{lines}",
                                   type=INVALID_INPUT, non_retryable=True)

    async def _capture_env(self, segment: dict[str, Any]) -> dict[str, str]:
        """`$env` values, read once per run by a local activity so that replay sees the same values."""
        if "$env" not in json.dumps(segment):
            return {}
        values: dict[str, str] = await workflow.execute_local_activity(
            CAPTURE_ENV_ACTIVITY, start_to_close_timeout=timedelta(seconds=10)
        )
        return values

    # --- phase and search attributes ---------------------------------------------------

    def _publish_identity(self) -> None:
        present = workflow.info().typed_search_attributes
        updates = []
        if self._segment_id and present.get(SEGMENT_ID) != self._segment_id:
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

    def _set_phase(self, phase: str) -> None:
        self._phase = phase
        visible = "paused" if (self._paused and phase == "running") else phase
        if visible != self._published_phase:
            self._published_phase = visible
            workflow.upsert_search_attributes([SEGMENT_PHASE.value_set(visible)])

    def _fail(self, message: str) -> None:
        self._error = message
        self._set_phase("failed")

    # --- the Temporal interface ----------------------------------------------------------

    @workflow.query(name="status")
    def status(self) -> dict[str, Any]:
        """The run's phase, steps done, running and pending, and open human tasks."""
        interp = self._interp
        phase = "paused" if (self._paused and self._phase == "running") else self._phase
        return {
            "run_id": workflow.info().workflow_id,
            "segment_id": self._segment_id,
            "tenant_id": self._tenant_id,
            "phase": phase,
            "steps_done": [asdict(r) for r in interp.state.done] if interp else [],
            "steps_running": [asdict(r) for r in interp.state.running.values()] if interp else [],
            "steps_pending": interp.pending_steps() if interp else [],
            "open_tasks": [],
            "error": self._error,
        }

    @workflow.signal(name="pause")
    def pause(self) -> None:
        """No new step starts until `resume`; steps already running finish."""
        self._paused = True
        if self._interp:
            self._interp.state.paused = True
        if self._phase == "running":
            self._set_phase("running")

    @workflow.signal(name="resume")
    def resume(self) -> None:
        self._paused = False
        if self._interp:
            self._interp.state.paused = False
        if self._phase == "running":
            self._set_phase("running")
