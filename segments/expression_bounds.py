"""Bounds on JSONata evaluation that an expression cannot switch off.

jsonata-python looks its per-step hooks up by name (`__evaluate_entry`) in the same environment
the expression binds variables in, so `$__evaluate_entry := ...` turned the old bounds off. Here
`BoundedJsonata` answers those two names from Python, whatever the expression binds, and its
`Budget` counts, deterministically (the same on every replay):

- **cost**: one unit per evaluation step, plus the size of every value a step produces (strings
  per `STRING_UNIT` characters, arrays and objects per `ITEM_UNIT` entries), plus the work of the
  builtins that do a lot in one step (`$sort`, `$string`, `$join`...);
- **depth** of nested evaluation;
- **size** of every string, array and object produced, checked before the builtins that could
  build a huge one in one call (`$pad`, `$replace`, `$join`, `$string`, `&`);
- regular expressions run on RE2 (linear time), `$distinct` hashes (jsonata-python's is
  quadratic), `$eval` is not available (it would compile unbounded text at run time).

`DEFAULT_LIMITS` keeps one evaluation well under 0.5 s of CPU on a loaded 2-core machine
(`tests/test_expression_bombs.py` measures it with a ticker).
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonata import Jsonata, functions, utils
from jsonata.regex_engine import RegexFlags

from segments.errors import SegmentError
from segments.regex import RegexUnsupported, compile_regex

STRING_UNIT = 256
"""Characters of a produced string that cost one unit."""
ITEM_UNIT = 8
"""Entries of a produced array or object that cost one unit."""
HOOKS = frozenset({"__evaluate_entry", "__evaluate_exit"})


class ExpressionError(SegmentError):
    """An expression that does not compile or fails while evaluating."""

    def __init__(self, message: str, expression: str) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression


class ExpressionLimit(ExpressionError):
    """A bound was hit: the message is `expression limit: <which limit>`; never worth a retry.
    `kind` is `cost`, `depth`, `size`, `time` or `memory`."""

    def __init__(self, message: str, expression: str, kind: str = "size") -> None:
        super().__init__(message, expression)
        self.kind = kind


@dataclass(frozen=True)
class ExpressionLimits:
    max_cost: int = 40_000
    max_depth: int = 150
    max_string: int = 1_000_000
    """Characters of any string built."""
    max_items: int = 100_000
    """Entries of any array or object built."""
    max_result_size: int = 2_000_000
    """Characters plus entries of the whole result (shared values counted each time they appear)."""
    max_seconds: float | None = None
    """A wall-clock bound on top: only where replay does not matter (activities)."""
    legacy_hooks: bool = False
    """The engine's first evaluator (hooks in the environment, `re`): only to replay old runs."""

    @staticmethod
    def legacy() -> ExpressionLimits:
        return ExpressionLimits(legacy_hooks=True)


DEFAULT_LIMITS = ExpressionLimits()
"""Inside workflow code: deterministic bounds only."""
ACTIVITY_LIMITS = ExpressionLimits(max_cost=400_000, max_seconds=5.0)
"""In the `transform` activity, evaluated off the event loop: more room, and a wall-clock bound too."""


class Budget:
    """The counters of one evaluation; the hooks `BoundedJsonata` calls on every step."""

    def __init__(self, limits: ExpressionLimits, expression: str) -> None:
        self.limits = limits
        self.expression = expression
        self.cost = 0
        self.depth = 0
        self._deadline = time.monotonic() + limits.max_seconds if limits.max_seconds else None

    def fail(self, which: str, kind: str = "size") -> ExpressionLimit:
        return ExpressionLimit(f"expression limit: {which}", self.expression, kind)

    def charge(self, units: int) -> None:
        self.cost += units
        if self.cost > self.limits.max_cost:
            raise self.fail(
                f"evaluation cost over {self.limits.max_cost} (steps and sizes of values built)", "cost"
            )

    def enter(self, *_: Any) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise self.fail(f"nested deeper than {self.limits.max_depth} levels", "depth")
        self.charge(1)
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise self.fail(f"time (more than {self.limits.max_seconds:g} s)", "time")

    def leave(self, _expr: Any = None, _input: Any = None, _env: Any = None, result: Any = None) -> None:
        self.depth -= 1
        if isinstance(result, str):
            self.check_string(len(result))
            self.charge(len(result) // STRING_UNIT)
        elif isinstance(result, list | dict):
            self.check_items(len(result))
            self.charge(len(result) // ITEM_UNIT)

    def check_string(self, length: int) -> None:
        if length > self.limits.max_string:
            raise self.fail(f"a string longer than {self.limits.max_string} characters")

    def check_items(self, count: int) -> None:
        if count > self.limits.max_items:
            raise self.fail(f"an array or object with more than {self.limits.max_items} entries")

    def check_text_of(self, value: Any) -> None:
        """Before serializing `value`: its JSON text must fit `max_string` (walked with a cap)."""
        remaining = self.limits.max_string
        stack = [value]
        visited = 0
        while stack:
            item = stack.pop()
            visited += 1
            if isinstance(item, str):
                remaining -= len(item) + 2
            elif isinstance(item, dict):
                remaining -= 2 + len(item)
                for key, child in item.items():
                    remaining -= len(str(key)) + 3
                    stack.append(child)
            elif isinstance(item, list | tuple):
                remaining -= 2 + len(item)
                stack.extend(item)
            else:
                remaining -= 8
            if remaining < 0:
                self.charge(visited // ITEM_UNIT)
                raise self.fail(f"a string longer than {self.limits.max_string} characters")
        self.charge(visited // ITEM_UNIT)


_current = threading.local()


def current_budget() -> Budget:
    budget: Budget | None = getattr(_current, "budget", None)
    if budget is None:  # a safe function called outside `BoundedJsonata.bounded`: refuse, never run free
        raise ExpressionError("a bounded function ran outside a bounded evaluation", "")
    return budget


class _GuardedFrame(Jsonata.Frame):
    """A frame whose hook names always resolve to the running `Budget`, never to a user binding."""

    def lookup(self, name: str) -> Any:
        if name in HOOKS:
            budget = current_budget()
            return budget.enter if name == "__evaluate_entry" else budget.leave
        return super().lookup(name)


def _re2_engine(pattern: str, flags: RegexFlags) -> Any:
    try:
        return compile_regex(pattern, case_insensitive=flags.case_insensitive, multiline=flags.multiline)
    except RegexUnsupported as err:
        raise ExpressionError(f"does not compile: /{pattern[:60]}/: {err}", pattern) from None


class BoundedJsonata(Jsonata):
    """Jsonata whose bounds live in Python (see the module docstring)."""

    def __init__(self, expression: str) -> None:
        super().__init__(expression, regex_engine=_re2_engine)

    def create_frame(self, enclosing_environment: Jsonata.Frame | None = None) -> Jsonata.Frame:
        return _GuardedFrame(enclosing_environment)

    @contextlib.contextmanager
    def bounded(self, budget: Budget) -> Iterator[None]:
        previous = getattr(_current, "budget", None)
        previous_instance = getattr(Jsonata.CURRENT, "jsonata", None)
        _current.budget = budget
        Jsonata.CURRENT.jsonata = self  # higher-order builtins call lambdas through it
        try:
            yield
        finally:
            _current.budget = previous
            Jsonata.CURRENT.jsonata = previous_instance

    def evaluate_string_concat(self, lhs: Any, rhs: Any) -> str:
        budget = current_budget()
        for side in (lhs, rhs):
            if side is not None and not isinstance(side, str):
                budget.check_text_of(side)
        length = (len(lhs) if isinstance(lhs, str) else 0) + (len(rhs) if isinstance(rhs, str) else 0)
        budget.check_string(length)
        result: str = super().evaluate_string_concat(lhs, rhs)
        budget.check_string(len(result))
        return result


# --- builtins replaced or checked first ---------------------------------------------------


class SafeFunctions:
    """Builtins with their work bounded before they run; same signatures as jsonata-python's."""

    @staticmethod
    def distinct(arr: Any) -> Any:
        """Hash-based: jsonata-python compares each item with every kept one (quadratic)."""
        if arr is None or not isinstance(arr, list) or len(arr) <= 1:
            return arr
        budget = current_budget()
        budget.charge(len(arr) // 2)
        if any(isinstance(item, dict | list) for item in arr):
            budget.check_text_of(arr)
        results = utils.Utils.create_sequence() if isinstance(arr, utils.Utils.JList) else []
        seen: set[Any] = set()
        for item in arr:
            key = _canonical(item)
            if key not in seen:
                seen.add(key)
                results.append(item)
        return results

    @staticmethod
    def pad(string: Any, width: Any, char: Any) -> Any:
        if isinstance(width, int | float) and not isinstance(width, bool) and math.isfinite(width):
            current_budget().check_string(abs(int(width)))
        return functions.Functions.pad(string, width, char)

    @staticmethod
    def string(arg: Any, prettify: Any) -> Any:
        if arg is not None and not isinstance(arg, str):
            current_budget().check_text_of(arg)
        return functions.Functions.string(arg, prettify)

    @staticmethod
    def join(strs: Any, separator: Any) -> Any:
        if isinstance(strs, list):
            budget = current_budget()
            sep = len(separator) if isinstance(separator, str) else 0
            budget.check_string(sum(len(s) for s in strs if isinstance(s, str)) + sep * max(len(strs) - 1, 0))
        return functions.Functions.join(strs, separator)

    @staticmethod
    def replace(string: Any, pattern: Any, replacement: Any, limit: Any) -> Any:
        if isinstance(string, str) and isinstance(replacement, str) and pattern:
            budget = current_budget()
            if isinstance(pattern, str):
                matches = string.count(pattern)
            else:
                matches = sum(1 for _ in itertools_islice(pattern.finditer(string), budget.limits.max_string))
            if isinstance(limit, int | float) and not isinstance(limit, bool):
                matches = min(matches, max(int(limit), 0))
            budget.check_string(len(string) + matches * len(replacement))
            budget.charge(matches // ITEM_UNIT)
        return functions.Functions.replace(string, pattern, replacement, limit)

    @staticmethod
    def sort(arr: Any, comparator: Any) -> Any:
        if isinstance(arr, list) and len(arr) > 1:
            current_budget().charge(int(len(arr) * math.log2(len(arr))) // ITEM_UNIT)
        return functions.Functions.sort(arr, comparator)

    @staticmethod
    def function_eval(expr: Any, focus: Any) -> Any:
        raise current_budget().fail("$eval is not available")


_SAFE_SIGNATURES = {
    "distinct": "<x:x>",
    "pad": "<s-ns?:s>",
    "string": "<x-b?:s>",
    "join": "<a<s>s?:s>",
    "replace": "<s-(sf)(sf)n?:s>",
    "sort": "<af?:a>",
}
_safe: dict[str, Any] | None = None


def safe_functions() -> dict[str, Any]:
    """Bindings that shadow jsonata-python's builtins of the same name in every bounded evaluation."""
    global _safe
    if _safe is None:
        built: dict[str, Any] = {
            name: Jsonata.JNativeFunction(name, signature, SafeFunctions, None)
            for name, signature in _SAFE_SIGNATURES.items()
        }
        built["eval"] = Jsonata.JNativeFunction("eval", "<sx?:x>", SafeFunctions, "function_eval")
        _safe = built
    return _safe


_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`")
_REFUSED = re.compile(r"\$eval\b")


def refused_name(expression: str) -> str | None:
    """Why an expression may not be compiled for the bounded evaluator, or None. (Binding
    `$__evaluate_entry` is harmless here: `_GuardedFrame` never reads it.)"""
    if _REFUSED.search(_STRINGS.sub('""', expression)) is not None:
        return "$eval is not available"
    return None


def _canonical(value: Any) -> Any:
    """Equal for values JSONata's `=` calls equal (1 and 1.0; object key order ignored)."""
    import json

    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, int | float):
        return ("n", value)  # hash(1) == hash(1.0) and 1 == 1.0, as in JSONata

    def normal(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return {"#n": float(v) if isinstance(v, float) and not v.is_integer() else int(v)}
        if isinstance(v, dict):
            return {str(k): normal(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [normal(x) for x in v]
        return {"#id": id(v)}

    return json.dumps(normal(value), sort_keys=True, separators=(",", ":"))


def itertools_islice(iterable: Any, stop: int) -> Any:
    import itertools

    return itertools.islice(iterable, stop)
