"""Evaluates `transform` expressions in a separate process, never on the worker's event loop.

A thread is not enough: an evaluation that builds many objects triggers the garbage collector,
which stops every thread of the process (a 1 s pause was measured under load). In a child process
the worker's loop keeps polling and heartbeating whatever the expression does; inside the child
the bounds of `ACTIVITY_LIMITS` (cost, sizes, RE2, wall clock) end the evaluation, and an
address-space limit stops one that would exhaust memory (the pool is then rebuilt).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from segments.expressions import ACTIVITY_LIMITS, EvalClock, ExpressionError, ExpressionLimit, evaluate

WORKERS = 2
MEMORY_LIMIT_BYTES = 2 << 30
"""Address space of one child process: past it the evaluation fails with `expression limit: memory`."""

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):  # not on this platform: the other bounds still hold
        pass


def _pool_instance() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("spawn")  # never fork a process with threads
            _pool = ProcessPoolExecutor(WORKERS, mp_context=context, initializer=_limit_memory)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _evaluate_in_child(
    expression: str, context: dict[str, Any], clock_ms: int, seed: int, env: dict[str, str]
) -> tuple[str, Any]:
    """Runs in the child: plain values in, plain values out (exceptions do not pickle well)."""
    try:
        value = evaluate(expression, context, EvalClock.fixed(clock_ms, seed), env, ACTIVITY_LIMITS)
    except ExpressionLimit as err:
        return err.kind, err.message
    except ExpressionError as err:
        return "error", err.message
    except MemoryError:
        return "memory", "expression limit: memory"
    return "ok", value


async def evaluate_isolated(
    expression: str, context: dict[str, Any], clock_ms: int, seed: int, env: dict[str, str]
) -> Any:
    """The expression's value, evaluated in a child process; raises ExpressionError."""
    pool = _pool_instance()
    loop = asyncio.get_running_loop()
    try:
        outcome, value = await loop.run_in_executor(
            pool, _evaluate_in_child, expression, context, clock_ms, seed, env
        )
    except BrokenProcessPool:
        _discard(pool)
        raise ExpressionLimit(
            "expression limit: memory (the evaluating process was stopped)", expression, "memory"
        ) from None
    if outcome not in ("ok", "error"):
        raise ExpressionLimit(value, expression, outcome)
    if outcome == "error":
        raise ExpressionError(value, expression)
    return value


def shutdown() -> None:
    """Stop the child processes (the worker calls it on shutdown)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
