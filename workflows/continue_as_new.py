"""Long runs: `SegmentWorkflow` continues as new before its history grows large.

The run continues as new only at a quiet step boundary: one path active, no step or branch
running, no human task open. The new run gets the same workflow id (so the run's id, its search
attributes and memo stay) and a `resume` section in its input that carries everything the run
knows: step outputs and visits, the paths that already ended, the latest step records, `$env`
values, pause state, and the human-task board (closed tasks, so a late second answer is still
refused; buffered answers; refused signals). Signal and update handlers are allowed to finish
first, so no answer is dropped at the boundary; one that arrives after the switch reaches the
new run.

The bound: when Temporal suggests it, when the history reaches `continue_as_new_after_events`
(default 5,000, far below Temporal's 10,240-event warning), or when this run has finished
`continue_as_new_after_steps` step visits (default 1,000: a step run as an activity costs about
six events; local activities complete inside one workflow task, so the history length alone
lags behind them). A run's input may lower both through `options`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from temporalio import workflow

from workflows.interpreter import Arrival, Interpreter, StepRecord
from workflows.task_board import HumanTask, TaskBoard

DEFAULT_MAX_EVENTS = 5_000
DEFAULT_MAX_STEPS = 1_000
MIN_BOUND = 20
RUN_OPTIONS = ("continue_as_new_after_steps", "continue_as_new_after_events")
"""The keys of a run request's `options`; each a whole number, at least MIN_BOUND."""
KEEP_STEP_RECORDS = 100
"""Step records carried to the next run (and shown by `status`); older ones are counted only."""
KEEP_CLOSED_TASKS = 500


def _bound(options: dict[str, Any] | None, key: str, default: int) -> int:
    value = (options or {}).get(key, default)
    return max(MIN_BOUND, value) if isinstance(value, int) else default


def continue_check(interp: Interpreter, options: dict[str, Any] | None) -> Callable[[], bool]:
    """The question the interpreter asks at each quiet step boundary."""
    max_events = _bound(options, "continue_as_new_after_events", DEFAULT_MAX_EVENTS)
    max_steps = _bound(options, "continue_as_new_after_steps", DEFAULT_MAX_STEPS)

    def time_to_continue() -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= max_events
            or interp.steps_this_run >= max_steps
        )

    return time_to_continue


def carried_state(
    interp: Interpreter, board: TaskBoard, next_step: str, paused: bool, arrival: Arrival | None = None
) -> dict[str, Any]:
    state = interp.state
    closed = [t.view() for t in board.tasks.values() if not t.is_open][-KEEP_CLOSED_TASKS:]
    extra = {"next_arrival": asdict(arrival)} if arrival is not None and interp.prev_enabled else {}
    return {
        **extra,
        "next_step": next_step,
        "outputs": state.outputs,
        "visits": state.visits,
        "ended": state.ended,
        "done": [asdict(r) for r in state.done[-KEEP_STEP_RECORDS:]],
        "done_total": interp.done_total(),
        "env": interp.env,
        "started_at": interp.run.started_at,
        "paused": paused,
        "board": {
            "closed_tasks": closed,
            "pending": board.pending,
            "refused": board.refused,
            "refused_total": board.refused_total,
        },
    }


def carried_problem(carried: dict[str, Any]) -> str | None:
    """What is wrong with a `resume` section (a raw client may send anything), or None."""
    for key, kind in (("next_step", str), ("env", dict), ("started_at", str)):
        if not isinstance(carried.get(key), kind):
            return f"'resume.{key}' must be a {kind.__name__}"
    return None


def carried_arrival(carried: dict[str, Any]) -> Arrival | None:
    """How the path reached the step the new run starts at (None: runs carried before `prev`)."""
    saved = carried.get("next_arrival")
    return Arrival(saved.get("prev_step"), saved.get("prev")) if isinstance(saved, dict) else None


def restore(interp: Interpreter, board: TaskBoard, carried: dict[str, Any]) -> None:
    state = interp.state
    state.outputs.update(carried.get("outputs") or {})
    state.visits.update(carried.get("visits") or {})
    state.ended.update(carried.get("ended") or {})
    state.done = [StepRecord(**r) for r in carried.get("done") or []]
    interp.done_before = int(carried.get("done_total") or 0) - len(state.done)
    saved = carried.get("board") or {}
    for view in saved.get("closed_tasks") or []:
        task = HumanTask.from_view(view)
        board.tasks[task.task_id] = task
    board.pending = list(saved.get("pending") or [])
    board.refused = list(saved.get("refused") or [])
    board.refused_total = int(saved.get("refused_total") or 0)
