"""Where a definition enters: recognise its dialect, translate it, validate, and report problems
at the paths of the JSON the user actually wrote.

Pure and deterministic: the CLI, the Python client, the gateway and SegmentWorkflow all call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segments.catalog import Catalog
from segments.dialects import LLMTEAM, detect_dialect
from segments.dialects.llmteam import translate
from segments.hashing import definition_hash
from segments.models import SegmentDefinition
from segments.validation import InvalidSegment, Problem, parse_definition, validate_definition


@dataclass
class Loaded:
    """A definition as it entered (`source`) and in this engine's format (`definition`)."""

    source: Any
    definition: Any
    dialect: str | None = None
    notes: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def source_hash(self) -> str:
        return definition_hash(self.source)

    def memo(self) -> dict[str, Any]:
        """What a run records about where its definition came from (empty for our own format)."""
        if self.dialect is None:
            return {}
        return {"segment_dialect": self.dialect, "source_hash": self.source_hash}


def load_definition(data: Any) -> Loaded:
    """Translate `data` when it is in another dialect; problems of the translation itself (a `team`
    step, a switch case that is arbitrary Python) are in `problems`, at the original's paths."""
    dialect = detect_dialect(data)
    if dialect != LLMTEAM:
        return Loaded(source=data, definition=data)
    translation = translate(data)
    loaded = Loaded(
        source=data,
        definition=translation.definition,
        dialect=dialect,
        notes=[Problem(r.path, r.message) for r in translation.notes],
        problems=[Problem(r.path, r.message) for r in translation.problems],
    )
    loaded._original_path = translation.original_path  # type: ignore[attr-defined]
    return loaded


def in_our_format(data: Any) -> Any:
    """`data` in this engine's format: the translation of an export in another dialect (when it
    translates), else `data` itself. For readers that only draw or inspect a definition."""
    loaded = load_definition(data)
    return loaded.definition if loaded.definition is not None else data


def validate_any(data: Any, catalog: Catalog) -> list[Problem]:
    """Every problem of a definition in any dialect, at the paths of `data`."""
    loaded = load_definition(data)
    return _problems(loaded, catalog)


def _problems(loaded: Loaded, catalog: Catalog) -> list[Problem]:
    if loaded.problems or loaded.definition is None:
        return list(loaded.problems)
    problems = validate_definition(loaded.definition, catalog)
    original_path = getattr(loaded, "_original_path", None)
    if original_path is None:
        return problems
    return [Problem(original_path(p.path), p.message) for p in problems]


def parse_any(data: Any, catalog: Catalog) -> tuple[SegmentDefinition, Loaded]:
    """The definition as a model (translated if need be), or InvalidSegment at the original's paths."""
    loaded = load_definition(data)
    if loaded.dialect is None:
        return parse_definition(data, catalog), loaded
    problems = _problems(loaded, catalog)
    if problems:
        segment_id = data.get("workflow_id") or data.get("segment_id") if isinstance(data, dict) else None
        raise InvalidSegment(segment_id if isinstance(segment_id, str) else None, problems)
    return parse_definition(loaded.definition, catalog), loaded
