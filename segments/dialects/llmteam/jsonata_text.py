"""Small pieces of JSONata text for the llmteam importer: literals, paths and Python's value rules.

llmteam's mini-languages run in Python, so their results follow Python's rules (`str(True)` is
`True`, `json.dumps` puts a space after `,` and `:`, `None > 10` raises). The importer emits
JSONata that follows the same rules; the helpers here are JSONata functions bound in a block
before the expression that uses them, and only those it uses are bound.
"""

from __future__ import annotations

import json
import re
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JSONATA_WORDS = frozenset({"and", "or", "in", "true", "false", "null", "function"})


def string(text: str) -> str:
    """A JSONata string literal for `text`, safe inside a `{% %}` template (no `{%` or `%}`)."""
    quoted = json.dumps(text, ensure_ascii=False)
    return quoted.replace("%}", "%\\u007d").replace("{%", "{\\u0025")


def literal(value: Any) -> str:
    """A JSONata literal for a JSON value."""
    if isinstance(value, str):
        return string(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{string(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return json.dumps(value)


def field(base: str, key: str) -> str:
    """`base.key`, with the key in backticks when it is not a plain name."""
    if _IDENTIFIER.match(key) and key not in _JSONATA_WORDS:
        return f"{base}.{key}"
    return f"{base}.`{key}`" if "`" not in key else f"$lookup({base}, {string(key)})"


def step_output(step_id: str) -> str:
    return field("steps", step_id) + ".output"


def step_exists(step_id: str) -> str:
    return f"$exists({field('steps', step_id)})"


def escape_text(text: str) -> str:
    """A config string that llmteam uses as is: unchanged unless it holds `{%`, which this engine
    would render, in which case it becomes one template giving the same text."""
    if "{%" not in text:
        return text
    return "{% " + string(text) + " %}"


# --- helper functions, bound by name before the expression that uses them ------------------

HELPERS: dict[str, str] = {
    # Python truthiness of a JSON value (undefined and null are falsy).
    "pb": "function($v){ $type($v) = 'boolean' ? $v : $type($v) = 'number' ? $v != 0 : "
    "$type($v) = 'string' ? $length($v) > 0 : $type($v) = 'array' ? $count($v) > 0 : "
    "$type($v) = 'object' ? $count($keys($v)) > 0 : false }",
    # json.dumps(value, default=str): ', ' and ': ' separators, non-ASCII escaped.
    "pj": "function($v){ $type($v) = 'object' ? '{' & $join($each($v, function($x, $k){ "
    "$pj($k) & ': ' & $pj($x) }), ', ') & '}' : $type($v) = 'array' ? '[' & $join($map($v, "
    "function($x){ $pj($x) }), ', ') & ']' : $type($v) = 'string' ? $substring($string([$v]), 1, "
    "$length($string([$v])) - 2) : $exists($v) ? $string($v) : 'null' }",
    # repr(value): Python's literal syntax, as str() shows a dict or list.
    "pr": "function($v){ $type($v) = 'object' ? '{' & $join($each($v, function($x, $k){ "
    "$pr($k) & ': ' & $pr($x) }), ', ') & '}' : $type($v) = 'array' ? '[' & $join($map($v, "
    "function($x){ $pr($x) }), ', ') & ']' : $type($v) = 'string' ? ($contains($v, \"'\") and "
    "$not($contains($v, '\"')) ? '\"' & $v & '\"' : \"'\" & $replace($replace($replace($v, "
    "'\\\\', '\\\\\\\\'), \"'\", \"\\\\'\"), '\\n', '\\\\n') & \"'\") : $type($v) = 'boolean' ? "
    "($v ? 'True' : 'False') : $type($v) = 'null' or $not($exists($v)) ? 'None' : $string($v) }",
    # str(value): a string as is, anything else as repr() shows it.
    "ps": "function($v){ $type($v) = 'string' ? $v : $pr($v) }",
    # A value in a llmteam prompt: dicts and lists as json.dumps, the rest as str().
    "pp": "function($v){ $type($v) in ['object', 'array'] ? $pj($v) : $ps($v) }",
    # llmteam's dotted-path lookup: dict keys (strings) and list indexes (numbers); else null.
    "pg": "function($d, $ks){ $reduce($ks, function($a, $k){ $type($k) = 'number' ? "
    "($type($a) = 'array' and $k < $count($a) ? $a[$k] : null) : "
    "($type($a) = 'object' and $k in $keys($a) ? $lookup($a, $k) : null) }, $d) }",
}
_NEEDS = {"pp": ("pj", "ps"), "ps": ("pr",)}
_ORDER = ("pb", "pj", "pr", "ps", "pp", "pg")
_USE = re.compile(r"\$(pb|pj|pr|ps|pp|pg)\(")


def with_helpers(expression: str) -> str:
    """`expression`, preceded by the bindings of the helpers it calls (none: unchanged)."""
    used: set[str] = set(_USE.findall(expression))
    pending = list(used)
    while pending:
        for needed in _NEEDS.get(pending.pop(), ()):
            if needed not in used:
                used.add(needed)
                pending.append(needed)
    if not used:
        return expression
    bindings = "; ".join(f"${name} := {HELPERS[name]}" for name in _ORDER if name in used)
    return f"({bindings}; {expression})"


def path_keys(keys: list[str | int]) -> str:
    return "[" + ", ".join(str(k) if isinstance(k, int) else string(k) for k in keys) + "]"


def template(expression: str) -> str:
    return "{% " + with_helpers(expression) + " %}"
