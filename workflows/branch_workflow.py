"""`SegmentBranchWorkflow`: one branch of a parallel split, run as a child workflow.

It walks the branch's part of the graph from its first step until the split's join, with the
parent's step outputs it needs pre-filled, and returns the output of the branch's last step:
the step whose edge leads into the join (several such steps: an object keyed by step id; none,
because the branch ended before the join: null). Nested splits start their own children.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from segments.models import SegmentDefinition
    from segments.registry import worker_catalog
    from workflows.branch_input import BRANCH_WORKFLOW_NAME, BranchInput
    from workflows.errors import StepFailure
    from workflows.interpreter import Interpreter
    from workflows.parallel import branch_failure_error
    from workflows.step_runners import default_runners


@workflow.defn(name=BRANCH_WORKFLOW_NAME)
class SegmentBranchWorkflow:
    def __init__(self) -> None:
        self._interp: Interpreter | None = None
        self._phase = "running"

    @workflow.run
    async def run(self, request: BranchInput) -> Any:
        definition = SegmentDefinition.model_validate(request.segment)  # validated whole by the root run
        interp = Interpreter(
            definition,
            worker_catalog(),
            default_runners(),
            request.run,
            request.input,
            request.env,
            request.scope,
        )
        interp.state.outputs.update(request.outputs)
        self._interp = interp
        try:
            ended = await interp.run_from(request.start)
        except StepFailure as failure:
            self._phase = "failed"
            raise branch_failure_error(failure) from None
        except asyncio.CancelledError:
            self._phase = "cancelled"
            raise
        self._phase = "completed"
        if not ended:
            return None
        if len(ended) == 1:
            return next(iter(ended.values()))
        return ended

    @workflow.query(name="status")
    def status(self) -> dict[str, Any]:
        """The branch's phase and steps; the run as a whole answers `status` on its root workflow."""
        interp = self._interp
        return {
            "phase": self._phase,
            "task_path": interp.scope.path if interp else None,
            "steps_done": [asdict(r) for r in interp.state.done] if interp else [],
            "steps_running": [asdict(r) for r in interp.state.running.values()] if interp else [],
        }
