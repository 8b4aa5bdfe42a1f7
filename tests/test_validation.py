"""Validation reports every problem at once, each with its path: one corpus file per kind of mistake."""

import json
from pathlib import Path

import pytest

from segments.builtin_types import default_catalog
from segments.dialects.loader import validate_any
from segments.validation import InvalidSegment, parse_definition, validate_definition

CORPUS = Path(__file__).parent / "invalid"
EXPECTED: dict[str, list[str]] = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_invalid_definition_reports_exactly_its_problems(name: str) -> None:
    catalog = default_catalog()
    definition = json.loads((CORPUS / name).read_text())
    expected = [line.replace("{known_types}", ", ".join(catalog.type_ids)) for line in EXPECTED[name]]
    assert [str(p) for p in validate_definition(definition, catalog)] == expected


def test_every_corpus_file_has_expectations() -> None:
    files = {p.name for p in CORPUS.glob("*.json")} - {"expected.json"}
    assert files == set(EXPECTED)


def test_parse_definition_raises_with_every_problem_in_the_message() -> None:
    definition = json.loads((CORPUS / "five_mistakes.json").read_text())
    with pytest.raises(InvalidSegment) as caught:
        parse_definition(definition, default_catalog())
    assert len(caught.value.problems) == 5
    assert "segment 'five_mistakes' is not valid (5 problems)" in str(caught.value)
    for problem in caught.value.problems:
        assert str(problem) in str(caught.value)


def test_every_example_is_valid() -> None:
    examples = Path(__file__).parent.parent / "examples"
    catalog = default_catalog()
    checked = 0
    for path in examples.glob("*.json"):
        if path.name.endswith(".input.json"):
            continue
        definition = json.loads(path.read_text())
        unknown = {s["type"] for s in definition["steps"]} - set(catalog.type_ids)
        if unknown:  # examples of step types that a later part of the engine registers
            continue
        assert validate_any(definition, catalog) == [], path.name  # llmteam exports too
        checked += 1
    assert checked >= 1
