"""The join's bookkeeping: which branches ended how, when the join may go on, and its output.

Pure code. The join's output is `{"branches": ..., "failed": [...], "cancelled": [...]}`:

- `branches`: per branch, the output of its last step; an object keyed by branch name, in edge
  order (edge split) or a list in item order (map). A branch that failed (with `collect`) has
  `{"error": {"message", "type", "step_id", "task_path"}}`; one cancelled or never started because
  the policy was met first has `{"cancelled": true}`.
- `failed`, `cancelled`: the names of those branches, in branch order (`enrich[2]` in a map).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CANCELLED_ENTRY: dict[str, Any] = {"cancelled": True}


@dataclass(frozen=True)
class BranchError:
    """Where inside a branch a failure happened: the deepest failing step and its full path."""

    branch: str
    step_id: str
    step_type: str
    task_path: str
    message: str
    error_type: str | None

    def entry(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "step_id": self.step_id,
                "task_path": self.task_path,
            }
        }

    def describe(self) -> str:
        where = f" at step '{self.task_path}{self.step_id}' ({self.step_type})" if self.step_id else ""
        return f"branch '{self.branch}' failed{where}: {self.message}"


@dataclass
class BranchResult:
    """How one branch ended: an output, an error, or cancelled."""

    position: int
    output: Any = None
    error: BranchError | None = None
    cancelled: bool = False


class JoinTally:
    """Collects branch results; `decided` tells when the join may go on (or the split must fail)."""

    def __init__(self, names: list[str], successes_needed: int, collect: bool, mapped: bool) -> None:
        self.names = names
        self.needed = successes_needed
        self.collect = collect
        self.mapped = mapped
        self.results: dict[int, BranchResult] = {}
        self.successes = 0
        self.first_error: BranchError | None = None
        self.decided = not names

    def record(self, result: BranchResult) -> None:
        """Records a result; results arriving once decided (while the rest is cancelled) only fill
        in the output."""
        self.results[result.position] = result
        if result.error is None and not result.cancelled:
            self.successes += 1
        if self.decided:
            return
        if result.error is not None and not self.collect:
            self.first_error = result.error
            self.decided = True
        elif self.successes >= self.needed or len(self.results) == len(self.names):
            self.decided = True

    @property
    def failure(self) -> BranchError | None:
        """The error that fails the split (`on_branch_error: fail`), if any."""
        return self.first_error

    def output(self) -> dict[str, Any]:
        entries = [self._entry(position) for position in range(len(self.names))]
        failed = [n for i, n in enumerate(self.names) if (r := self.results.get(i)) and r.error is not None]
        cancelled = [n for i, n in enumerate(self.names) if (r := self.results.get(i)) is None or r.cancelled]
        branches: Any = entries if self.mapped else dict(zip(self.names, entries, strict=True))
        return {"branches": branches, "failed": failed, "cancelled": cancelled}

    def _entry(self, position: int) -> Any:
        result = self.results.get(position)
        if result is None or result.cancelled:
            return dict(CANCELLED_ENTRY)
        if result.error is not None:
            return result.error.entry()
        return result.output
