"""`SegmentBranchWorkflow`: one branch of a parallel split, run as a child workflow.

It walks the branch's part of the graph from its first step until the split's join, with the
parent's step outputs it needs pre-filled, and returns the output of the branch's last step:
the step whose edge leads into the join (several such steps: an object keyed by step id; none,
because the branch ended before the join: null). Nested splits start their own children.

A batch of a large map (`request.batch`) runs each of its items as such a branch, and returns
one entry per item (workflows/batch_items.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from segments.models import SegmentDefinition
    from workflows.batch_items import BatchItems, branch_output
    from workflows.branch_input import BRANCH_WORKFLOW_NAME, BranchInput
    from workflows.catalogs import worker_catalog
    from workflows.contract import PAUSE_SIGNAL, RESPOND, RESUME_SIGNAL, STATUS_QUERY
    from workflows.errors import StepFailure
    from workflows.interpreter import BranchScope, Interpreter
    from workflows.parallel import apply_pause, branch_failure_error
    from workflows.step_runners import default_runners
    from workflows.task_board import TaskBoard
    from workflows.task_relay import branch_board, branch_respond


@workflow.defn(name=BRANCH_WORKFLOW_NAME)
class SegmentBranchWorkflow:
    def __init__(self) -> None:
        self._interp: Interpreter | None = None
        self._phase = "running"
        self._paused = False
        self._root_id = ""
        self._board: TaskBoard | None = None
        self._items: BatchItems | None = None

    @workflow.run
    async def run(self, request: BranchInput) -> Any:
        definition = SegmentDefinition.model_validate(request.segment)  # validated whole by the root run
        self._root_id = request.root_workflow_id
        # this branch's human tasks are listed and answered through the root (workflows/task_relay.py)
        board = branch_board(request.root_workflow_id)
        board.human_steps = {s.step_id for s in definition.steps if s.type == "human_task"}
        self._board = board

        def new_interpreter(scope: BranchScope) -> Interpreter:
            interp = Interpreter(
                definition,
                worker_catalog(),
                default_runners(),
                request.run,
                request.input,
                request.env,
                scope,
            )
            interp.state.outputs.update(request.outputs)
            interp.state.paused = self._paused
            interp.human_tasks = board
            return interp

        try:
            if request.batch is not None:
                self._items = BatchItems(
                    request.batch,
                    request.start,
                    new_interpreter,
                    request.arrival.prev_step if request.arrival is not None else None,
                )
                entries = await self._items.run(request.scope.stop_at)
                await board.drain()
                self._phase = "completed"
                return entries
            self._interp = new_interpreter(request.scope)
            ended = await self._interp.run_from(request.start, request.arrival)
            await board.drain()
        except StepFailure as failure:
            self._phase = "failed"
            board.cancel_all()
            raise branch_failure_error(failure) from None
        except asyncio.CancelledError:
            self._phase = "cancelled"
            board.cancel_all()
            raise
        self._phase = "completed"
        return branch_output(ended)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> dict[str, Any]:
        """The branch's phase and steps; the run as a whole answers `status` on its root workflow."""
        interps = [self._interp] if self._interp else []
        if self._items is not None:
            interps = list(self._items.running.values())
        status: dict[str, Any] = {
            "phase": self._phase,
            "task_path": self._interp.scope.path if self._interp else None,
            "steps_done": [asdict(r) for i in interps for r in i.state.done],
            "steps_running": [asdict(r) for i in interps for r in i.state.running.values()],
        }
        if self._items is not None:
            status["items"] = len(self._items.batch.items)
            status["items_finished"] = self._items.finished
        return status

    @workflow.signal(name=RESPOND)
    async def respond(self, payload: Any) -> None:
        """An answer the root accepted and forwarded; checked again here (an escalation may have
        crossed it), a refusal is reported back to the root."""
        if self._board is not None:
            await branch_respond(self._board, self._root_id, payload)

    @workflow.signal(name=PAUSE_SIGNAL)
    async def pause(self, *_ignored: Any) -> None:
        """Forwarded by the parent: no new step starts in this branch until `resume`."""
        await self._set_paused(True)

    @workflow.signal(name=RESUME_SIGNAL)
    async def resume(self, *_ignored: Any) -> None:
        await self._set_paused(False)

    async def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        await apply_pause(self._interp, paused)
        if self._items is not None:
            for k in sorted(self._items.running):
                await apply_pause(self._items.running[k], paused)
