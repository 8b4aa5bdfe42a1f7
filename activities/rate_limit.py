"""Per-host protection of remote services: a token bucket and a circuit breaker.

Both live in the worker process (one `HostLimiter` shared by every `http_action`), so they
bound what *this worker* sends; several workers each apply their own limits.

- Rate limit: a request waits for its host's bucket; when the wait would be longer than
  `rate_max_wait`, the attempt fails retryably with `next_retry_delay` set to the wait,
  so Temporal (not a sleeping activity slot) holds the queue.
- Circuit breaker, one per (tenant, host): after `breaker_failures` consecutive failures (5xx,
  408, 429, timeouts, connection errors; a timeout shorter than `BREAKER_TIMEOUT_FLOOR` is the
  step's own choice and does not count) the circuit opens for `breaker_cooldown`: attempts fail at once,
  retryably, with the remaining cool-down as `next_retry_delay`. Then one trial request goes
  through (half-open): its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from enum import Enum

from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CIRCUIT_OPEN, ERROR_RATE_LIMITED
from activities.http_settings import ENV_PREFIX, HttpSettings

Clock = Callable[[], float]


BREAKER_TIMEOUT_FLOOR = 1.0
"""Seconds: a step timing out sooner than this says nothing about the host's health."""


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; reservations may go into debt."""

    def __init__(self, rate: float, burst: float | None = None, clock: Clock = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.burst
        self._updated = clock()

    def reserve(self, max_wait: float) -> tuple[bool, float]:
        """Take a token. Returns (granted, seconds to wait before sending); when the wait would
        exceed `max_wait`, nothing is taken and granted is False."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
        if wait > max_wait:
            return False, wait
        self._tokens -= 1
        return True, wait


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int, cooldown: float, clock: Clock = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self.state = BreakerState.CLOSED
        self.failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    def admit(self) -> float | None:
        """None when a request may go; otherwise the seconds until the circuit lets one through."""
        if self.state is BreakerState.OPEN:
            remaining = self._opened_at + self.cooldown - self._clock()
            if remaining > 0:
                return remaining
            self.state = BreakerState.HALF_OPEN
            self._trial_in_flight = False
        if self.state is BreakerState.HALF_OPEN:
            if self._trial_in_flight:
                return min(self.cooldown, 1.0) or 1.0
            self._trial_in_flight = True
        return None

    def record_success(self) -> None:
        self.state, self.failures, self._trial_in_flight = BreakerState.CLOSED, 0, False

    def record_failure(self) -> None:
        self.failures += 1
        self._trial_in_flight = False
        if self.failure_threshold > 0 and (
            self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold
        ):
            self.state = BreakerState.OPEN
            self._opened_at = self._clock()

    def record_unknown(self) -> None:
        """The request ended without telling whether the host is healthy (e.g. it was cancelled)."""
        self._trial_in_flight = False


class HostLimiter:
    """The buckets and breakers of every host this worker calls.

    A bucket is per host: it protects the remote service, whoever calls it. A breaker is per
    (tenant, host): the failures it counts may come from the calling run itself (a tiny step
    timeout, a bad request body), so one tenant's failures never open another tenant's circuit.
    """

    def __init__(self, settings: HttpSettings, clock: Clock = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._buckets: dict[str, TokenBucket | None] = {}
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def breaker(self, host: str, tenant: str | None = None) -> CircuitBreaker:
        key = (tenant or "", host.lower())
        if key not in self._breakers:
            self._breakers[key] = CircuitBreaker(
                self._settings.breaker_failures, self._settings.breaker_cooldown.total_seconds(), self._clock
            )
        return self._breakers[key]

    def _bucket(self, host: str) -> TokenBucket | None:
        host = host.lower()
        if host not in self._buckets:
            rate = self._settings.rate_for(host)
            self._buckets[host] = TokenBucket(rate, clock=self._clock) if rate else None
        return self._buckets[host]

    async def admit(self, host: str, *, step_id: str, tenant: str | None = None) -> None:
        """Wait for `host`'s rate limit and check its circuit; raises a retryable error instead of
        waiting too long. Every admitted request must end with one of the `record_*` calls."""
        breaker = self.breaker(host, tenant)
        retry_in = breaker.admit()
        if retry_in is not None:
            whose = f" (tenant {tenant})" if tenant else ""
            raise ApplicationError(
                f"step '{step_id}': the circuit for {host}{whose} is open after {breaker.failures} "
                f"consecutive failures; the next attempt may go in {retry_in:.1f}s "
                f"({ENV_PREFIX}BREAKER_FAILURES, {ENV_PREFIX}BREAKER_COOLDOWN)",
                {"host": host, "retry_in_seconds": retry_in},
                type=ERROR_CIRCUIT_OPEN,
                next_retry_delay=timedelta(seconds=retry_in),
            )
        bucket = self._bucket(host)
        if bucket is None:
            return
        granted, wait = bucket.reserve(self._settings.rate_max_wait.total_seconds())
        if not granted:
            breaker.record_unknown()
            raise ApplicationError(
                f"step '{step_id}': {host} is limited to {bucket.rate:g} requests/s on this worker and the "
                f"queue is {wait:.1f}s long ({ENV_PREFIX}RATE_LIMITS, {ENV_PREFIX}RATE_MAX_WAIT)",
                {"host": host, "retry_in_seconds": wait},
                type=ERROR_RATE_LIMITED,
                next_retry_delay=timedelta(seconds=wait),
            )
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except BaseException:
                breaker.record_unknown()
                raise

    def record_success(self, host: str, tenant: str | None = None) -> None:
        self.breaker(host, tenant).record_success()

    def record_failure(self, host: str, tenant: str | None = None) -> None:
        self.breaker(host, tenant).record_failure()

    def record_unknown(self, host: str, tenant: str | None = None) -> None:
        self.breaker(host, tenant).record_unknown()
