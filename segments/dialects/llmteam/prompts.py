"""llmteam's `{key}` prompt placeholders as one JSONata string expression.

llmteam (engine/handlers/llm_handler.py `_substitute_variables`): for each top-level key of the
step's input dict, `{key}` is replaced by the value (dicts and lists as `json.dumps`, the rest
as `str()`); unknown placeholders stay as written. 5.x also fills `{context}` from
`input.output` (a dict's), `input` (a string) or `str(input)`. Without a prompt, the prompt is
the input's `prompt`, `query`, `input` or `text` key (the first present) as `str()`, or the whole
input as JSON; `prompt_template_id` gives `Template: <id>` and the input as JSON.
"""

from __future__ import annotations

import re
from typing import Any

from segments.dialects.llmteam.jsonata_text import string

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def prompt_expression(config: dict[str, Any], data: str, known_keys: list[str] | None, context: bool) -> str:
    """JSONata (a string) for the prompt llmteam sends, given the step input `data`, whose keys
    are `known_keys` when known before the run (None at the entrypoint)."""
    template_id = config.get("prompt_template_id")
    prompt = config.get("prompt") or ""
    if template_id:
        return f"{string(f'Template: {template_id}' + chr(10) + 'Variables: ')} & $pj({data})"
    if prompt:
        return _substitute(str(prompt), data, known_keys, context)
    return _from_input(data, known_keys)


def _substitute(prompt: str, data: str, known_keys: list[str] | None, context: bool) -> str:
    pieces: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(prompt):
        key = match.group(1)
        value = _placeholder(key, data, known_keys, context)
        if value is None:
            continue
        if match.start() > position:
            pieces.append(string(prompt[position : match.start()]))
        pieces.append(value)
        position = match.end()
    if position < len(prompt):
        pieces.append(string(prompt[position:]))
    if not pieces:
        return string("")
    return " & ".join(pieces)


def _placeholder(key: str, data: str, known_keys: list[str] | None, context: bool) -> str | None:
    """The JSONata text for `{key}`, or None where llmteam leaves the placeholder as written."""
    literal_text = string("{" + key + "}")
    if key == "context" and context:
        computed = (
            f"($u := ({data}).input; $type($u) = 'object' and 'output' in $keys($u) ? $pp($u.output) : "
            f"$type($u) = 'string' ? $u : $ps($u))"
        )
        if known_keys is None:
            return (
                f"($i := {data}; 'context' in $keys($i) ? $pp($i.context) : 'input' in $keys($i) ? "
                f"{computed} : {literal_text})"
            )
        if "context" in known_keys:
            return f"$pp(({data}).context)"
        return computed if "input" in known_keys else None
    if known_keys is None:
        return (
            f"($i := {data}; {string(key)} in $keys($i) ? $pp($lookup($i, {string(key)})) : {literal_text})"
        )
    if key in known_keys:
        return f"$pp($lookup({data}, {string(key)}))"
    return None


def _from_input(data: str, known_keys: list[str] | None) -> str:
    order = ("prompt", "query", "input", "text")
    if known_keys is not None:
        for key in order:
            if key in known_keys:
                return f"$ps($lookup({data}, {string(key)}))"
        return f"$pj({data})"
    branches = " : ".join(f"{string(k)} in $keys($i) ? $ps($lookup($i, {string(k)}))" for k in order)
    return f"($i := {data}; {branches} : $pj($i))"
