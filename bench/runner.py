"""Runs the chosen scenarios against one client, with both workers in this process."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from temporalio.client import Client

from bench.context import bench_context
from bench.report import ScenarioResult
from bench.scenarios import SCENARIOS


async def run_bench(
    client: Client,
    address: str,
    scenarios: Sequence[str],
    *,
    namespace: str = "default",
    quick: bool = False,
    emit: Callable[[ScenarioResult], None] = lambda result: None,
) -> list[ScenarioResult]:
    """Each scenario in turn; `emit` sees each result as soon as it is measured."""
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenarios: {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    results = []
    async with bench_context(client, address, namespace, quick) as ctx:
        for name in scenarios:
            result = await SCENARIOS[name](ctx)
            emit(result)
            results.append(result)
    return results
