"""Which rules a definition is checked and evaluated by: today's, or the engine's first ones.

The first rules (any JSON Schema `$ref`, `$eval`, Python regular expressions, expression hooks in
the environment) are kept only so that a run recorded before the security bounds replays exactly
as it ran; the workflow selects them with `workflow.patched` (see `workflows/segment_workflow.py`
and `workflows/interpreter.py`). Everything else always uses today's rules.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

PATCH_BOUNDED_EXPRESSIONS = "bounded-expressions"
"""The `workflow.patched` id: set in runs that evaluate with the bounds and check with today's rules."""

_state = threading.local()


def legacy_rules_active() -> bool:
    return bool(getattr(_state, "legacy", False))


@contextlib.contextmanager
def legacy_rules() -> Iterator[None]:
    """Within the block, validation accepts what the first rules accepted."""
    previous = legacy_rules_active()
    _state.legacy = True
    try:
        yield
    finally:
        _state.legacy = previous
