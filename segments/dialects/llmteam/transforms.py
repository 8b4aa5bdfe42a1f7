"""llmteam's `transform` config (`jsonpath`, `mapping`, `expression`, `default`) as JSONata.

llmteam (engine/handlers/transform_handler.py): `jsonpath` wins, then a non-empty `mapping`
(`{out_key: "dotted.path[0].x"}`, each missing value None), then `expression`: `input`, `data`,
`output` or `.` give the whole input; `keys()`, `values()`, `len()`, `json()`, `first()`,
`last()`, `flatten()`, `unique()`, `sort()` apply to the whole input dict; `$...` and `@...` are
JSONPath; a text with `.` or `[` is a dotted path; a top-level key gives its value; anything else
gives the input unchanged. The input of a transform is always a dict, so every one of these
choices is made here from the text; the JSONata only reads the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from segments.dialects.llmteam.jsonata_text import literal, path_keys, string, with_helpers
from segments.errors import SegmentError

_ARRAY_PART = re.compile(r"(\w+)\[(\d+)\]")
_JSONPATH_STEP = re.compile(r"\.(\*|[A-Za-z_][\w-]*)|\[(\*|\d+|'[^']*'|\"[^\"]*\")\]")


class TransformError(SegmentError, ValueError):
    """A transform this importer cannot carry over faithfully (e.g. a JSONPath beyond the subset)."""


@dataclass
class Transform:
    jsonata: str
    notes: list[str] = field(default_factory=list)


def nested_path(path: str) -> list[str | int]:
    """llmteam's `_get_nested_value` path as keys (strings) and list indexes (numbers)."""
    keys: list[str | int] = []
    for part in re.split(r"\.(?![^\[]*\])", path):
        if not part:
            continue
        match = _ARRAY_PART.match(part)
        if match:
            keys.extend([match.group(1), int(match.group(2))])
        else:
            keys.append(part)
    return keys


def jsonpath(expression: str, data: str) -> str:
    """A JSONPath of the subset `$`, `.key`, `['key']`, `[n]`, `[*]`, `.*` as JSONata: one match
    gives the value, several a list, none null (jsonpath-ng as llmteam uses it)."""
    text = expression.strip()
    if not text.startswith("$"):
        raise TransformError(f"JSONPath '{expression}' does not start with '$'")
    rest = text[1:]
    parts: list[str] = []
    position = 0
    while position < len(rest):
        match = _JSONPATH_STEP.match(rest, position)
        if match is None:
            raise TransformError(
                f"JSONPath '{expression}' goes beyond the subset this importer translates "
                "($, .key, ['key'], [n], [*], .*)"
            )
        name, bracket = match.group(1), match.group(2)
        if bracket == "*":
            pass  # every item of a list: a JSONata path maps over lists by itself
        elif name == "*":
            parts.append("*")
        elif name is not None:
            parts.append(f"`{name}`")
        elif bracket is not None and bracket.isdigit():
            parts.append(f"[{bracket}]")
        else:
            assert bracket is not None
            parts.append(f"`{bracket[1:-1]}`")
        position = match.end()
    body = data
    for part in parts:
        body = f"{body}{part}" if part.startswith("[") else f"{body}.{part}"
    return f"($v := {body}; $exists($v) ? $v : null)"


def translate_transform(config: dict[str, Any], data: str, known_keys: list[str] | None) -> Transform:
    """JSONata for llmteam's transform of the input dict `data`; `known_keys` are its keys when
    they are known before the run (every step but the entrypoint), else None."""
    notes: list[str] = []
    default = config.get("default")
    if "jsonpath" in config:
        result = jsonpath(str(config["jsonpath"]), data)
        return Transform(_with_default(result, default), notes)
    mapping = config.get("mapping")
    expression = config.get("expression")
    if mapping:
        if not isinstance(mapping, dict):
            raise TransformError("mapping is not an object of output key -> input path")
        pairs = [
            f"{string(str(key))}: $pg($in, {path_keys(nested_path(str(path)))})"
            for key, path in mapping.items()
        ]
        return Transform(with_helpers(f"($in := {data}; {{{', '.join(pairs)}}})"), notes)
    if expression:
        return Transform(_expression(str(expression).strip(), data, known_keys, default, notes), notes)
    return Transform(data, notes)


def _with_default(result: str, default: Any) -> str:
    if default is None:
        return result
    return f"($d := {result}; $d = null ? {literal(default)} : $d)"


def _expression(text: str, data: str, known_keys: list[str] | None, default: Any, notes: list[str]) -> str:
    if text in ("input", "data", "output", "."):
        return data
    functions = {
        "keys()": f"$append([], $keys({data}))",
        "values()": f"$append([], $each({data}, function($v){{ $v }}))",
        "len()": f"$count($keys({data}))",
        "json()": f"$pj({data})",
        "first()": "null",
        "last()": "null",
        "flatten()": data,
        "unique()": data,
        "sort()": data,
    }
    if text in functions:
        if text in ("first()", "last()", "flatten()", "unique()", "sort()"):
            notes.append(
                f"'{text}' applies to the whole input dict, so llmteam gives "
                + ("None" if text in ("first()", "last()") else "the input unchanged")
            )
        return with_helpers(_with_default(functions[text], default))
    if text.startswith("$"):
        return _with_default(jsonpath(text, data), default)
    if text.startswith("@"):
        raise TransformError(f"'{text}' is a JSONPath relative to '@', which llmteam never matches")
    if "." in text or "[" in text:
        return with_helpers(_with_default(f"$pg({data}, {path_keys(nested_path(text))})", default))
    if known_keys is not None:
        if text in known_keys:
            return _with_default(f"({data}).`{text}`", default)
        notes.append(
            f"'{text}' is not a key of this step's input ({', '.join(known_keys)}), so llmteam "
            "passes the input on unchanged"
        )
        return data
    return f"($i := {data}; {string(text)} in $keys($i) ? $lookup($i, {string(text)}) : $i)"
