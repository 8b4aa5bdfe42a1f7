"""The one place that builds JSON Schema validators: self-contained, bounded, quiet.

Every JSON Schema of a definition (the definition's and a human task's `input_schema`,
`request_schema`, `response_schema`) is checked here, in validation, in workflow code and in
activities alike:

- **Nothing is fetched.** Only local references (`$ref` starting with `#`) are allowed;
  `local_reference_problems` reports any other `$ref`/`$dynamicRef`/`$recursiveRef` with its path.
  Validators are built with a `referencing.Registry` that has no `retrieve`, so even a reference
  that slipped past (a `$ref` rendered from a template at run time) resolves to an error, never to
  a network or file read. jsonschema's default registry would `urlopen` it (`file://` included).
- **Bounded.** A check counts every keyword it evaluates and stops past `MAX_SCHEMA_STEPS`;
  `uniqueItems` is hashed (jsonschema falls back to O(n²) for objects), and `pattern` /
  `patternProperties` use RE2, which matches in linear time.
- **Quiet.** Messages name the failing keyword and where it is (the path into the value, or
  into the schema), never a value of the schema or of the document: jsonschema's own messages
  quote both (a fetched key file came back whole in a run's error).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from jsonschema.exceptions import SchemaError, ValidationError
from referencing.jsonschema import DRAFT202012, specification_with

from segments.errors import SegmentError
from segments.regex import CompiledRegex, RegexUnsupported, compile_regex
from segments.rules_version import legacy_rules_active

MAX_SCHEMA_STEPS = 50_000
"""Keyword evaluations one check may take (a 2,000-item array under a 5-keyword schema is ~10,000)."""
MAX_REPORTED = 5
REFERENCE_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
_VALUE_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
"""Keywords whose values are data, not schemas: a `$ref` key inside them is not a reference."""
_ROOT_URI = "urn:segments:schema"


class SchemaCheckError(SegmentError):
    """A schema that cannot be used, or a check that went past its bound. The message is safe
    to show: it names a keyword and a path, never a value."""


def local_reference_problems(schema: Any, path: str = "") -> list[tuple[str, str]]:
    """`(path, message)` for every reference that is not a local `#...` pointer, and every local
    pointer that points nowhere (when the schema has no `$id` of its own to move the base)."""
    problems: list[tuple[str, str]] = []
    local: list[tuple[str, str]] = []
    has_ids = False
    for where, node in _walk(schema, path):
        has_ids = has_ids or "$id" in node or "id" in node
        for key in REFERENCE_KEYS:
            if key not in node:
                continue
            ref = node[key]
            at = f"{where}.{key}" if where else key
            if not isinstance(ref, str) or not ref.startswith("#"):
                problems.append(
                    (at, "only local references (starting with '#') are allowed; nothing is ever fetched")
                )
            else:
                local.append((at, ref))
    if not has_ids and isinstance(schema, dict):
        resolver = referencing.Registry().with_resource(_ROOT_URI, _resource(schema)).resolver(_ROOT_URI)
        for at, ref in local:
            try:
                resolver.lookup(ref)
            except referencing.exceptions.Unresolvable:
                problems.append((at, "points to nothing in this schema"))
    return problems


def schema_problem(schema: Any) -> str | None:
    """Why `schema` cannot be used (not a valid JSON Schema, or a non-local reference), or None."""
    if not isinstance(schema, dict | bool):
        return "must be a JSON Schema (an object)"
    refs = local_reference_problems(schema) + _pattern_problems(schema)
    if refs:
        at, message = refs[0]
        return f"{at}: {message}"
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except SchemaError as err:
        return f"is not a valid JSON Schema: {_schema_error(err)}"
    except RecursionError:
        return "is nested too deeply"
    return None


def checked_schema(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """For pydantic field validators: `value`, or ValueError naming what makes it unusable."""
    if value is not None:
        problem = checked_problem(value)
        if problem is not None:
            raise ValueError(problem)
    return value


def checked_problem(schema: Any) -> str | None:
    """`schema_problem` under the rules in force (see `segments.rules_version`)."""
    return _legacy_schema_problem(schema) if legacy_rules_active() else schema_problem(schema)


def _legacy_schema_problem(schema: Any) -> str | None:
    """The first rules: a valid JSON Schema, whatever it references."""
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except SchemaError as err:
        return f"is not a valid JSON Schema: {_schema_error(err)}"
    return None


def schema_mismatches(
    instance: Any, schema: dict[str, Any] | bool, *, limit: int = MAX_REPORTED
) -> list[str]:
    """Where `instance` does not match `schema` (empty when it does): `at $.path: fails "keyword"`.

    Raises `SchemaCheckError` for an unusable schema or a check past its bound."""
    problem = schema_problem(schema)
    if problem is not None:
        raise SchemaCheckError(f"the schema {problem}")
    validator = build_validator(schema)
    budget = _Budget()
    _active.budget = budget
    try:
        errors = list(itertools.islice(validator.iter_errors(instance), limit + 1))
    except _OverBudget:
        raise SchemaCheckError(
            f"checking the value against the schema took more than {MAX_SCHEMA_STEPS} steps; "
            "make the value or the schema smaller"
        ) from None
    except referencing.exceptions.Unresolvable:
        raise SchemaCheckError(
            "the schema has a reference that points nowhere (nothing is fetched)"
        ) from None
    except RecursionError:
        raise SchemaCheckError("the schema or the value is nested too deeply to check") from None
    finally:
        _active.budget = None
    errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
    described = [describe(e) for e in errors[:limit]]
    return described + (["and more"] if len(errors) > limit else [])


def describe(error: ValidationError) -> str:
    """One mismatch, as a path and a keyword, without quoting a value of the document or schema."""
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [p for p in error.validator_value if isinstance(p, str) and p not in error.instance]
        if missing:
            return f"at {_short(_child_path(error.json_path, missing[0]))}: is required but missing"
    return f'at {_short(error.json_path)}: fails "{error.validator}"'


def _child_path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if key.isidentifier() else f"{parent}[{json.dumps(key)}]"


def build_validator(schema: dict[str, Any] | bool) -> Any:
    """A validator for `schema` whose registry never retrieves and whose keywords are bounded."""
    base = jsonschema.validators.validator_for(schema)
    bounded = _bounded_class(base)
    registry: referencing.Registry[Any] = referencing.Registry()
    return bounded(schema, registry=registry)


# --- bounds ------------------------------------------------------------------------------


class _OverBudget(Exception):
    pass


class _Budget:
    def __init__(self) -> None:
        self.steps = 0


_active = threading.local()


def _counted(keyword: Callable[..., Any]) -> Callable[..., Any]:
    def run(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        budget: _Budget | None = getattr(_active, "budget", None)
        if budget is not None:
            budget.steps += 1
            if budget.steps > MAX_SCHEMA_STEPS:
                raise _OverBudget
        return keyword(validator, value, instance, schema)

    return run


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for item in instance:
        key = _canonical(item)
        if key in seen:
            yield ValidationError("has non-unique elements")
            return
        seen.add(key)


def _canonical(value: Any) -> str:
    """A key equal for values JSON Schema calls equal (1 == 1.0, key order ignored, True != 1)."""

    def normal(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return {"#n": float(v) if isinstance(v, float) and not v.is_integer() else int(v)}
        if isinstance(v, dict):
            return {k: normal(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [normal(x) for x in v]
        return repr(v)

    return json.dumps(normal(value), sort_keys=True, separators=(",", ":"))


def _regex(validator: Any, pattern: str) -> CompiledRegex:
    try:
        return compile_regex(pattern)
    except RegexUnsupported as err:
        raise SchemaCheckError(f"the schema has a pattern that RE2 cannot run: {err}") from None


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and _regex(validator, pattern).search(instance) is None:
        yield ValidationError("does not match the pattern")


def _pattern_properties(
    validator: Any, patterns: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        regex = _regex(validator, pattern)
        for key, value in instance.items():
            if regex.search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


_CLASSES: dict[type, type] = {}
_CLASSES_LOCK = threading.Lock()


def _bounded_class(base: type) -> type:
    with _CLASSES_LOCK:
        bounded = _CLASSES.get(base)
        if bounded is None:
            keywords: dict[str, Callable[..., Any]] = dict(base.VALIDATORS)  # type: ignore[attr-defined]
            keywords["uniqueItems"] = _unique_items
            keywords["pattern"] = _pattern
            keywords["patternProperties"] = _pattern_properties
            bounded = jsonschema.validators.extend(
                base, {name: _counted(fn) for name, fn in keywords.items()}
            )
            _CLASSES[base] = bounded
        return bounded


# --- helpers -----------------------------------------------------------------------------


def _walk(schema: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    stack: list[tuple[str, Any]] = [(path, schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            yield where, node
            for key, value in node.items():
                if key in _VALUE_KEYWORDS:
                    continue
                stack.append((f"{where}.{key}" if where else str(key), value))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                stack.append((f"{where}[{index}]", value))


def _pattern_problems(schema: Any) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for where, node in _walk(schema, ""):
        pattern = node.get("pattern")
        patterns: list[tuple[str, str]] = [("pattern", pattern)] if isinstance(pattern, str) else []
        if isinstance(node.get("patternProperties"), dict):
            patterns += [("patternProperties", str(key)) for key in node["patternProperties"]]
        for key, text in patterns:
            try:
                compile_regex(text)
            except RegexUnsupported as err:
                problems.append((f"{where}.{key}" if where else key, str(err)))
    return problems


def _resource(schema: dict[str, Any]) -> referencing.Resource[Any]:
    spec = specification_with(schema.get("$schema", ""), default=DRAFT202012)
    return spec.create_resource(schema)


def _schema_error(err: SchemaError) -> str:
    path = [str(p) for p in err.absolute_path]
    where = ".".join(path) or "(root)"
    what = f'"{path[-1]}"' if path and not path[-1].isdigit() else "value"
    return f'at {_short(where)}: not a valid {_short(what, 40)} (JSON Schema meta-schema: "{err.validator}")'


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
