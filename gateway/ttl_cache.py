"""A small in-memory set with expiry: an optimisation only (the gateway stays stateless).

The real guard against a replayed Slack request is Temporal's: a closed task refuses a second
answer, and the refusal names who answered.
"""

from __future__ import annotations

import time
from collections import OrderedDict


class TtlSet:
    def __init__(self, ttl_seconds: float, max_items: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_items = max_items
        self._items: OrderedDict[str, float] = OrderedDict()

    def add_new(self, key: str, now: float | None = None) -> bool:
        """Adds `key`; False when it was already there (and not expired)."""
        current = time.monotonic() if now is None else now
        while self._items and (
            next(iter(self._items.values())) < current or len(self._items) > self.max_items
        ):
            self._items.popitem(last=False)
        if key in self._items:
            return False
        self._items[key] = current + self.ttl
        return True

    def clear(self) -> None:
        self._items.clear()
