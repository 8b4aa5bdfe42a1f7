"""The scenarios, in the order they run: each takes the bench context and returns its result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.context import BenchContext
from bench.report import ScenarioResult
from bench.scenarios import approval, fanout, linear, map, memory, start, workers

Scenario = Callable[[BenchContext], Awaitable[ScenarioResult]]

SCENARIOS: dict[str, Scenario] = {
    "linear": linear.run,
    "fanout": fanout.run,
    "approval": approval.run,
    "start": start.run,
    "memory": memory.run,
    "map": map.run,
    "workers": workers.run,
}
