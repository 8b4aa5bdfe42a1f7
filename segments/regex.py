"""Regular expressions from definitions run on RE2: linear time, whatever the pattern.

Python's `re` backtracks: `/^(a+)+$/` against 40 `a`s and a `!` runs for minutes while holding
the GIL, which stops the whole worker. RE2 (google-re2) guarantees time linear in the input and
refuses the constructs that need backtracking (backreferences, lookaround) when the pattern is
compiled, so a definition learns at validation that such a pattern cannot run.
"""

from __future__ import annotations

from typing import Any, Protocol

import re2

from segments.errors import SegmentError

MAX_PATTERN_LENGTH = 1_000
_MAX_MEMORY = 8 << 20
"""RE2's memory budget for one compiled pattern (bytes): bounds the automaton it builds."""


class CompiledRegex(Protocol):
    def search(self, string: str) -> Any: ...
    def finditer(self, string: str) -> Any: ...
    def sub(self, repl: Any, string: str, count: int = 0) -> str: ...
    def split(self, string: str, maxsplit: int = 0) -> list[str]: ...


class RegexUnsupported(SegmentError, ValueError):
    """A pattern RE2 cannot run (backreferences, lookaround, or too large)."""


def compile_regex(pattern: str, *, case_insensitive: bool = False, multiline: bool = False) -> CompiledRegex:
    """Compile `pattern` with RE2; raises `RegexUnsupported` with a short reason."""
    if not isinstance(pattern, str):
        raise RegexUnsupported("a pattern must be a string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RegexUnsupported(f"a pattern may have at most {MAX_PATTERN_LENGTH} characters")
    options = re2.Options()
    options.case_sensitive = not case_insensitive
    options.max_mem = _MAX_MEMORY
    options.log_errors = False
    flags = "(?m)" if multiline else ""
    try:
        compiled: CompiledRegex = re2.compile(flags + pattern, options)
        return compiled
    except re2.error as err:
        raise RegexUnsupported(
            f"not supported by the linear-time regex engine RE2 ({_reason(err)})"
        ) from None


def _reason(err: Exception) -> str:
    detail = err.args[0] if err.args else type(err).__name__
    text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
    return (text.splitlines() or [type(err).__name__])[0][:120]
