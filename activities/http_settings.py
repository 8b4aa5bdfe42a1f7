"""Worker-wide settings of outgoing HTTP (`http_action`), from flags or `SEGMENTS_HTTP_*`.

- `SEGMENTS_HTTP_ALLOW`: hosts, addresses and CIDR ranges that the egress guard lets through,
  comma-separated (see `activities.egress`). Empty by default.
- `SEGMENTS_HTTP_MAX_RESPONSE_BYTES`: the largest response body read; a step may set a lower
  `max_response_bytes`. Default 1048576 (1 MiB).
- `SEGMENTS_HTTP_TIMEOUT`: a request's timeout, redirects included, when the step sets none
  (ISO 8601 duration or seconds). Default PT30S.
- `SEGMENTS_HTTP_MAX_REDIRECTS`: redirects followed, each checked by the egress guard. Default 5.
- `SEGMENTS_HTTP_RATE_LIMITS`: requests per second per host, `api.example.com=5,erp.internal=0.5`;
  the host `*` sets the limit of every other host. Default: no limit.
- `SEGMENTS_HTTP_RATE_MAX_WAIT`: the longest a request waits for its host's rate limit; past it
  the attempt fails, retryably, with the wait as `next_retry_delay`. Default PT10S.
- `SEGMENTS_HTTP_BREAKER_FAILURES`: consecutive failures (5xx, 408, 429, timeouts, connection
  errors) that open a host's circuit; 0 disables the breaker. Default 5.
- `SEGMENTS_HTTP_BREAKER_COOLDOWN`: how long an open circuit refuses requests before letting one
  trial through. Default PT30S.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from activities.egress import AllowList
from segments.durations import DurationError, parse_duration

ENV_PREFIX = "SEGMENTS_HTTP_"
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class HttpSettings:
    allow: AllowList = field(default_factory=AllowList)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    default_timeout: timedelta = timedelta(seconds=30)
    max_redirects: int = 5
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    """Requests per second by host name (lower case); the key `*` applies to every other host."""
    rate_max_wait: timedelta = timedelta(seconds=10)
    breaker_failures: int = 5
    breaker_cooldown: timedelta = timedelta(seconds=30)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HttpSettings:
        """Settings from `SEGMENTS_HTTP_*` (see the module docstring); raises ValueError on a bad value."""
        env = os.environ if environ is None else environ
        defaults = cls()

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value.strip() if value and value.strip() else None

        def duration(name: str, default: timedelta) -> timedelta:
            raw = get(name)
            return default if raw is None else _duration(ENV_PREFIX + name, raw)

        def integer(name: str, default: int, minimum: int) -> int:
            raw = get(name)
            if raw is None:
                return default
            if not raw.isdigit() or int(raw) < minimum:
                raise ValueError(f"{ENV_PREFIX}{name}: '{raw}' is not a whole number >= {minimum}")
            return int(raw)

        allow = get("ALLOW")
        rates = get("RATE_LIMITS")
        return cls(
            allow=AllowList.parse(allow) if allow else defaults.allow,
            max_response_bytes=integer("MAX_RESPONSE_BYTES", defaults.max_response_bytes, 1),
            default_timeout=duration("TIMEOUT", defaults.default_timeout),
            max_redirects=integer("MAX_REDIRECTS", defaults.max_redirects, 0),
            rate_limits=_rates(rates) if rates else {},
            rate_max_wait=duration("RATE_MAX_WAIT", defaults.rate_max_wait),
            breaker_failures=integer("BREAKER_FAILURES", defaults.breaker_failures, 0),
            breaker_cooldown=duration("BREAKER_COOLDOWN", defaults.breaker_cooldown),
        )

    def rate_for(self, host: str) -> float | None:
        return self.rate_limits.get(host.lower(), self.rate_limits.get("*"))


def _duration(name: str, raw: str) -> timedelta:
    try:
        return timedelta(seconds=float(raw))
    except ValueError:
        pass
    try:
        return parse_duration(raw)
    except DurationError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _rates(raw: str) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        host, sep, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = 0.0
        if not sep or not host.strip() or not rate > 0:
            raise ValueError(
                f"{ENV_PREFIX}RATE_LIMITS: '{item.strip()}' should be host=requests_per_second, "
                "e.g. api.example.com=5"
            )
        rates[host.strip().lower()] = rate
    return rates
