"""llmteam's `condition` language, parsed with llmteam's own rules and written as JSONata.

llmteam (engine/handlers/condition_handler.py) does not parse: it splits strings. In order:
`true`/`false`; if ` and ` occurs anywhere, split on it (so `and` binds looser than `or`, and
quoted text is split too); else ` or `; a `not ` prefix; the first operator found with spaces
around it, longest first; else the truthiness of a dotted path. Operands are quoted strings,
numbers, dotted paths into the step's input (missing: None), and on the right also
`true/false/none/null` and `[...]` lists. Any Python exception (`None > 10`) makes the whole
condition false. All of that depends on the text alone, so it is decided here, once, and the
JSONata keeps only the data-dependent part: each test yields true, false or null (an exception),
`and`/`or` short-circuit as Python's `all`/`any` do, and the result is `true` only when true.
Nothing here evaluates the text.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from typing import Any

from segments.dialects.llmteam.jsonata_text import literal, path_keys, string, with_helpers
from segments.errors import SegmentError

MAX_LENGTH = 1000
# llmteam's FORBIDDEN_PATTERNS: a match makes the condition false before it is evaluated.
FORBIDDEN = re.compile(
    "|".join(
        [
            r"__\w+__",
            r"\beval\b",
            r"\bexec\b",
            r"\bcompile\b",
            r"\bimport\b",
            r"\bopen\b",
            r"\bos\.",
            r"\bsys\.",
            r"\bsubprocess\b",
            r"\bglobals\b",
            r"\blocals\b",
            r"\bgetattr\b",
            r"\bsetattr\b",
            r"\bdelattr\b",
            r"\b__builtins__\b",
            r"\blambda\b",
            r"\bfor\b.*\bin\b",
            r"\bwhile\b",
            r"\bclass\b",
            r"\bdef\b",
        ]
    ),
    re.IGNORECASE,
)
# llmteam's OPERATORS sorted as it sorts them: by length, longest first, stable.
OPERATORS = ("startswith", "contains", "endswith", "not in", "==", "!=", ">=", "<=", "in", ">", "<")

_COMPARE = "function($a, $b){ ($x := $type($a) = 'boolean' ? ($a ? 1 : 0) : $a; $y := $type($b) = 'boolean' ? ($b ? 1 : 0) : $b; ($type($x) = 'number' and $type($y) = 'number') or ($type($x) = 'string' and $type($y) = 'string') ? {OP} : null) }"  # noqa: E501
_EQ = "function($a, $b){ ($x := $type($a) = 'boolean' and $type($b) = 'number' ? ($a ? 1 : 0) : $a; $y := $type($b) = 'boolean' and $type($a) = 'number' ? ($b ? 1 : 0) : $b; $x = $y) }"  # noqa: E501
_IN = "function($a, $b){ $type($b) = 'string' ? ($type($a) = 'string' ? $contains($b, $a) : null) : $type($b) = 'array' ? $a in $b : $type($b) = 'object' ? ($type($a) in ['object', 'array'] ? null : $a in $keys($b)) : null }"  # noqa: E501


class ConditionError(SegmentError, ValueError):
    """A condition whose literal is not JSON (a Python set, say): it cannot be carried over."""


@dataclass
class Condition:
    """One llmteam condition, translated: `jsonata` (a boolean) and what it approximates."""

    jsonata: str
    notes: list[str] = field(default_factory=list)


def translate_condition(expression: str, data: str) -> Condition:
    """The JSONata for llmteam condition `expression` evaluated on the step input `data`."""
    notes: list[str] = []
    if len(expression) > MAX_LENGTH:
        notes.append(f"longer than {MAX_LENGTH} characters: llmteam refuses it, so it is always false")
        return Condition("false", notes)
    forbidden = FORBIDDEN.search(expression)
    if forbidden is not None:
        notes.append(f"contains '{forbidden.group()}', which llmteam refuses: always false")
        return Condition("false", notes)
    tri = _evaluate(expression, notes)
    helpers = "".join(
        f"${name} := {text}; " for name, text in (("eq", _EQ), ("isin", _IN)) if f"${name}(" in tri
    )
    body = f"$in := {data}; {helpers}({tri}) = true"
    return Condition(with_helpers(f"({body})"), notes)


def _evaluate(expression: str, notes: list[str]) -> str:
    expression = expression.strip()
    if expression.lower() == "true":
        return "true"
    if expression.lower() == "false":
        return "false"
    if " and " in expression.lower():
        parts = [_evaluate(p.strip(), notes) for p in re.split(r"\s+and\s+", expression, flags=re.IGNORECASE)]
        return _chain(parts, stop_unless="true")
    if " or " in expression.lower():
        parts = [_evaluate(p.strip(), notes) for p in re.split(r"\s+or\s+", expression, flags=re.IGNORECASE)]
        return _chain(parts, stop_unless="false")
    if expression.lower().startswith("not "):
        inner = _evaluate(expression[4:].strip(), notes)
        return f"($r := {inner}; $type($r) = 'boolean' ? $not($r) : $r)"
    for op in OPERATORS:
        if f" {op} " in expression:
            left_text, right_text = expression.split(f" {op} ", 1)
            left = _left_value(left_text.strip())
            right = _right_value(right_text.strip())
            return _operation(op, left, right)
    return f"$pb({_left_value(expression)})"


def _chain(parts: list[str], stop_unless: str) -> str:
    """Python's all() (stop_unless="true") or any() (stop_unless="false") over tri-state parts:
    evaluation stops at the first part that is not `stop_unless`, which is the result."""
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = f"($r := {part}; $r = {stop_unless} ? {result} : $r)"
    return result


def _operation(op: str, left: str, right: str) -> str:
    if op == "==":
        return f"$eq({left}, {right})"
    if op == "!=":
        return f"$not($eq({left}, {right}))"
    if op in (">", "<", ">=", "<="):
        return _compare(op, left, right)
    if op == "in":
        return f"$isin({left}, {right})"
    if op == "not in":
        return f"($r := $isin({left}, {right}); $type($r) = 'boolean' ? $not($r) : $r)"
    if op == "contains":
        return f"$isin({right}, {left})"
    if op == "startswith":
        return f"($a := $ps({left}); $b := $ps({right}); $substring($a, 0, $length($b)) = $b)"
    # endswith
    return f"($a := $ps({left}); $b := $ps({right}); $length($b) = 0 or $substring($a, -$length($b)) = $b)"


def _compare(op: str, left: str, right: str) -> str:
    compare = _COMPARE.replace("{OP}", f"$x {op} $y")
    return f"({compare})({left}, {right})"


def _number(text: str) -> Any:
    """llmteam's numeric rule: float() when the text holds a '.', else int(); None when neither."""
    try:
        value: Any = float(text) if "." in text else int(text)
    except ValueError:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise ConditionError(f"'{text}' is not a finite number")
    return value


def _quoted(text: str) -> str | None:
    if len(text) >= 1 and ((text[0] == text[-1] == '"') or (text[0] == text[-1] == "'")):
        return text[1:-1]
    return None


def _left_value(text: str) -> str:
    """llmteam's `_get_value`: quoted string, number, or dotted path (missing: None)."""
    quoted = _quoted(text)
    if quoted is not None:
        return string(quoted)
    number = _number(text)
    if number is not None:
        return literal(number)
    keys: list[str | int] = list(text.split("."))
    return f"$pg($in, {path_keys(keys)})"


def _right_value(text: str) -> str:
    """llmteam's `_parse_literal`: true/false/none/null, quoted string, [list], number, or a path."""
    lowered = text.lower()
    if lowered == "true":
        return "true"
    if lowered == "false":
        return "false"
    if lowered in ("none", "null"):
        return "null"
    quoted = _quoted(text)
    if quoted is not None:
        return string(quoted)
    if text.startswith("[") and text.endswith("]"):
        try:
            value = ast.literal_eval(text)  # parses a literal; evaluates nothing
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = _NOT_A_LITERAL
        if value is not _NOT_A_LITERAL:
            return literal(_json_value(value, text))
    number = _number(text)
    if number is not None:
        return literal(number)
    return _left_value(text)


_NOT_A_LITERAL = object()


def _json_value(value: Any, text: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConditionError(f"'{text}' holds a number that is not finite")
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v, text) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_value(v, text) for k, v in value.items()}
    raise ConditionError(f"'{text}' holds a {type(value).__name__}, which has no JSON equivalent")
