"""Keeps every running step activity heartbeating.

Temporal delivers a cancellation to an activity only in answer to a heartbeat. Without one, a
step whose run was cancelled (or whose branch a join no longer needs) would go on until it
finished, and a worker that died mid-step would be noticed only at the step's timeout. This
interceptor heartbeats each async activity about once a second while it runs, so both take
seconds. Local activities cannot heartbeat and are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

HEARTBEAT_EVERY_SECONDS = 1.0


class HeartbeatInterceptor(Interceptor):
    def __init__(self, every_seconds: float = HEARTBEAT_EVERY_SECONDS) -> None:
        self.every_seconds = every_seconds

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Heartbeating(next, self.every_seconds)


class _Heartbeating(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, every_seconds: float) -> None:
        super().__init__(next)
        self.every_seconds = every_seconds

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if activity.info().is_local or not inspect.iscoroutinefunction(input.fn):
            return await super().execute_activity(input)
        beating = asyncio.create_task(self._beat())
        try:
            return await super().execute_activity(input)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.every_seconds)
            activity.heartbeat()
