"""JSONata expressions and `{% ... %}` templates, sandboxed and deterministic.

- An expression sees one JSON document (`input`, `steps`, `run`, `item`, `index`) and the
  variables `$env` (values the worker allows), `$now()`, `$millis()` and `$random()`, which
  come from an `EvalClock` that the caller supplies: inside a workflow that is the workflow's
  clock and replay-safe random generator, so a replay evaluates to the same values.
- Evaluation is bounded, deterministically (a wall-clock bound would make replay depend on the
  machine's speed): a cost budget (one unit per evaluation step plus the size of what each step
  builds), a nesting depth, and the size of every string, array and object built. Regular
  expressions run on RE2 (linear time). The bounds live in Python (`segments.expression_bounds`),
  where the expression cannot reach them; `$eval` is not available. A bound that is hit raises
  `ExpressionLimit` ("expression limit: ...").
- `ExpressionLimits.legacy()` is the engine's first behaviour (hooks looked up by name, Python's
  `re`), kept only so that runs recorded before the bounds replay as they ran.
- Expressions are JSONata, evaluated by jsonata-python: nothing is ever passed to `eval`.
- Compiled expressions are cached per thread (a compiled object is not shared across threads).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jsonata import Jsonata
from jsonata.jexception import JException

from segments.expression_bounds import (
    ACTIVITY_LIMITS,
    DEFAULT_LIMITS,
    BoundedJsonata,
    Budget,
    ExpressionError,
    ExpressionLimit,
    ExpressionLimits,
    refused_name,
    safe_functions,
)
from segments.rules_version import legacy_rules_active

__all__ = [
    "ACTIVITY_LIMITS",
    "DEFAULT_LIMITS",
    "EvalClock",
    "ExpressionError",
    "ExpressionLimit",
    "ExpressionLimits",
    "evaluate",
    "render",
]

MAX_EVAL_STEPS = 200_000
"""Evaluation steps one expression may take before it is stopped."""
MAX_DEPTH = 150
"""Nesting depth (recursion) one expression may reach before it is stopped."""
MAX_EXPRESSION_LENGTH = 20_000
_CACHE_SIZE = 2048

TEMPLATE = re.compile(r"\{%(.*?)%\}", re.DOTALL)
_STEP_REFERENCE = re.compile(r"(?<![\w$.])steps\s*\.\s*(?:`([^`]+)`|([A-Za-z_][\w]*))")


@dataclass
class EvalClock:
    """Where `$now()`, `$millis()` and `$random()` get their values."""

    now_ms: Callable[[], int]
    random: Callable[[], float]

    @staticmethod
    def fixed(now_ms: int, seed: int) -> EvalClock:
        """A clock frozen at `now_ms` with a seeded generator: for activities, given both by the workflow."""
        import random as _random

        rng = _random.Random(seed)
        return EvalClock(now_ms=lambda: now_ms, random=rng.random)


@dataclass
class _Bounds:
    steps: int = 0
    depth: int = 0
    expression: str = ""
    limits: tuple[int, int] = field(default=(MAX_EVAL_STEPS, MAX_DEPTH))

    def enter(self, *_: Any) -> None:
        self.steps += 1
        self.depth += 1
        max_steps, max_depth = self.limits
        if self.steps > max_steps:
            raise ExpressionError(
                f"expression stopped after {max_steps} evaluation steps (a runaway loop?)", self.expression
            )
        if self.depth > max_depth:
            raise ExpressionError(f"expression nested deeper than {max_depth} levels", self.expression)

    def leave(self, *_: Any) -> None:
        self.depth -= 1


_local = threading.local()


def _cache() -> OrderedDict[str, Jsonata]:
    cache: OrderedDict[str, Jsonata] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = OrderedDict()
        _local.cache = cache
    return cache


def unwrap(expression: str) -> str:
    """The JSONata of an expression field, written bare (`input.total > 1000`) or wrapped in one
    `{% ... %}` (`{% input.total > 1000 %}`): both mean the same. (`{%` never starts valid JSONata.)"""
    stripped = expression.strip()
    whole = TEMPLATE.fullmatch(stripped)
    if whole is not None and stripped.count("{%") == 1:
        return whole.group(1).strip()
    return expression


def compile_expression(expression: str, *, legacy: bool | None = None) -> Jsonata:
    """Compile (or fetch from the cache) one JSONata expression, bare or wrapped in one `{% ... %}`;
    raises ExpressionError.

    Unless `legacy`, the expression is compiled for the bounded evaluator: regular expressions
    on RE2, and no `$eval` or `$__...` names (they could reach around the bounds)."""
    if legacy is None:
        legacy = legacy_rules_active()
    cache = _cache()
    key = ("legacy:" if legacy else "") + expression if isinstance(expression, str) else ""
    compiled = cache.get(key)
    if compiled is not None:
        cache.move_to_end(key)
        return compiled
    if not isinstance(expression, str) or not unwrap(expression).strip():
        raise ExpressionError("expression is empty", str(expression))
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters", expression)
    if not legacy:
        refused = refused_name(expression)
        if refused is not None:
            raise ExpressionError(f"does not compile: {refused}", expression)
    try:
        compiled = Jsonata(unwrap(expression)) if legacy else BoundedJsonata(unwrap(expression))
    except JException as err:
        raise ExpressionError(f"does not compile: {_jsonata_message(err)}", expression) from None
    except RecursionError:
        raise ExpressionError("does not compile: nested too deeply", expression) from None
    if compiled.errors:
        raise ExpressionError(f"does not compile: {compiled.errors[0]}", expression)
    cache[key] = compiled
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return compiled


_USER_ERROR = "D3137"  # raised by $error(): the message is the user's own, its position is noise


def _jsonata_message(err: JException) -> str:
    location = getattr(err, "location", None)
    message = str(err)
    if getattr(err, "error", None) == _USER_ERROR:
        return message
    return f"{message} (at character {location})" if isinstance(location, int) and location >= 0 else message


_PLAIN_PATH = re.compile(r"[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*")
_NOT_NAMES = frozenset({"true", "false", "null", "and", "or", "in"})


def _plain_path(expression: str, document: dict[str, Any]) -> tuple[bool, Any]:
    """`steps.join.output` through objects only: (True, its value) without JSONata, else (False, None).

    JSONata walks (and checks) the whole document on every evaluation; for the outputs of a large
    map inside a workflow that is seconds, past Temporal's 2-second deadlock bound. A plain path
    through objects means the same in JSONata and here: the value, or undefined (None)."""
    text = expression.strip()
    if _PLAIN_PATH.fullmatch(text) is None:
        return False, None
    value: Any = document
    for name in (part.strip() for part in text.split(".")):
        if name in _NOT_NAMES or not isinstance(value, dict):
            return False, None  # a keyword, or a step into a list (JSONata maps over it)
        if name not in value:
            return True, None
        value = value[name]
    return True, value


def evaluate(
    expression: str,
    document: dict[str, Any],
    clock: EvalClock,
    env: dict[str, str] | None = None,
    limits: ExpressionLimits | None = None,
) -> Any:
    """Evaluate `expression` against `document`; the result is plain JSON (dict, list, str, number...).

    `limits` defaults to `ExpressionLimits()`; `ExpressionLimits.legacy()` only for replaying runs
    recorded before the bounds."""
    limits = limits or DEFAULT_LIMITS
    plain, value = _plain_path(unwrap(expression), document)
    if plain:
        return value
    compiled = compile_expression(expression, legacy=limits.legacy_hooks)
    bindings: dict[str, Any] = {
        "env": dict(env or {}),
        "now": Jsonata.JLambda(lambda picture=None, timezone=None: _format_now(clock.now_ms())),
        "millis": Jsonata.JLambda(lambda: clock.now_ms()),
        "random": Jsonata.JLambda(lambda: clock.random()),
    }
    if limits.legacy_hooks:
        bounds = _Bounds(expression=expression)
        bindings["__evaluate_entry"] = bounds.enter
        bindings["__evaluate_exit"] = bounds.leave
    try:
        if isinstance(compiled, BoundedJsonata):
            with compiled.bounded(Budget(limits, expression)):
                result = compiled.evaluate(document, {**bindings, **safe_functions()})
            return to_plain_json(result, expression, limits)
        result = compiled.evaluate(document, bindings)
    except ExpressionError:
        raise
    except JException as err:
        raise ExpressionError(_jsonata_message(err), expression) from None
    except RecursionError:
        raise ExpressionLimit("expression limit: nested deeper than Python allows", expression) from None
    except MemoryError:
        raise ExpressionLimit("expression limit: memory", expression) from None
    except Exception as err:  # jsonata-python raises plain Python errors for some bad operations
        raise ExpressionError(f"{type(err).__name__}: {err}", expression) from None
    return to_plain_json(result, expression)


def _format_now(now_ms: int) -> str:
    moment = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_plain_json(value: Any, expression: str = "", limits: ExpressionLimits | None = None) -> Any:
    """Turn jsonata-python's result types into plain JSON values; refuse functions.

    With `limits`, the whole result is bounded too (`max_result_size`): a structure that shares
    one big value many times is small to build and huge to serialize."""
    budget = [limits.max_result_size] if limits is not None else None

    def plain(value: Any) -> Any:
        if budget is not None:
            budget[0] -= len(value) + 1 if isinstance(value, str | list | tuple | dict) else 1
            if budget[0] < 0:
                raise ExpressionLimit(
                    f"expression limit: result larger than {limits.max_result_size} (characters and items)",  # type: ignore[union-attr]
                    expression,
                )
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int | float):
            if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                return int(value)
            return value
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        raise ExpressionError(f"evaluates to a {type(value).__name__}, which is not JSON", expression)

    return plain(value)


# --- templates -------------------------------------------------------------------------


def evaluate_output(
    output: Any,
    document: dict[str, Any],
    clock: EvalClock,
    env: dict[str, str] | None = None,
    limits: ExpressionLimits | None = None,
) -> Any:
    """The definition's `output`: a string is an expression, bare or in one `{% ... %}`; text that
    mixes words and `{% ... %}`, an object or a list is a template whose `{% ... %}` are rendered."""
    if isinstance(output, str) and not is_text_template(output):
        return evaluate(output, document, clock, env, limits)
    return render(output, document, clock, env, limits)


def is_text_template(value: str) -> bool:
    """Text with `{% ... %}` inside it, rather than one expression (bare or wrapped)."""
    return "{%" in value and unwrap(value) == value


def is_template(value: Any) -> bool:
    return isinstance(value, str) and "{%" in value


def render(
    value: Any,
    document: dict[str, Any],
    clock: EvalClock,
    env: dict[str, str] | None = None,
    limits: ExpressionLimits | None = None,
) -> Any:
    """Render every `{% ... %}` in a JSON value.

    A string that is exactly one `{% ... %}` becomes that expression's JSON value; a string that
    mixes text and templates interpolates each as text (objects and lists as JSON, undefined as "").
    """
    if isinstance(value, str):
        if "{%" not in value:
            return value
        whole = TEMPLATE.fullmatch(value.strip())
        if whole is not None and value.strip().count("{%") == 1:
            return evaluate(whole.group(1).strip(), document, clock, env, limits)
        return TEMPLATE.sub(
            lambda m: _as_text(evaluate(m.group(1).strip(), document, clock, env, limits)), value
        )
    if isinstance(value, dict):
        return {k: render(v, document, clock, env, limits) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, document, clock, env, limits) for v in value]
    return value


def has_template(value: Any) -> bool:
    """Whether any string inside `value` holds a `{% ... %}` template."""
    if isinstance(value, str):
        return "{%" in value
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return False


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def iter_templates(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every `(path, expression)` inside the templates of a JSON value, for validation."""
    if isinstance(value, str):
        for match in TEMPLATE.finditer(value):
            yield path, match.group(1).strip()
        unclosed = value.count("{%") - len(TEMPLATE.findall(value))
        if unclosed > 0:
            yield path, "{%"  # reported as a compile error by the caller
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_templates(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_templates(item, f"{path}[{index}]")


def step_references(expression: str) -> set[str]:
    """The step ids an expression reads as `steps.<id>` (or ``steps.`my-id` ``)."""
    without_strings = re.sub(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'", '""', expression)
    return {m.group(1) or m.group(2) for m in _STEP_REFERENCE.finditer(without_strings)}
