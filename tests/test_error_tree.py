"""The pure language's errors share one root, so a caller can catch every one of them at once."""

from __future__ import annotations

import pytest

from segments.dialects.llmteam.conditions import ConditionError
from segments.dialects.llmteam.switch_cases import UnsafeCase
from segments.dialects.llmteam.transforms import TransformError
from segments.durations import DurationError, parse_duration
from segments.errors import SegmentError
from segments.expressions import ExpressionError, compile_expression
from segments.plugins import PluginError
from segments.regex import RegexUnsupported
from segments.schemas import SchemaCheckError
from segments.validation import InvalidSegment, parse_definition
from worker import build_components


@pytest.mark.parametrize(
    "error",
    [
        InvalidSegment,
        ExpressionError,
        SchemaCheckError,
        DurationError,
        RegexUnsupported,
        PluginError,
        TransformError,
        ConditionError,
        UnsafeCase,
    ],
)
def test_every_pure_language_error_is_a_segment_error(error: type[Exception]) -> None:
    assert issubclass(error, SegmentError)


def test_real_failures_are_caught_as_segment_errors() -> None:
    catalog = build_components(plugins=[]).catalog
    with pytest.raises(SegmentError):
        parse_definition({"segment_id": "x", "steps": [], "edges": []}, catalog)
    with pytest.raises(SegmentError):
        compile_expression("$$$ nonsense (")
    with pytest.raises(SegmentError):
        parse_duration("soon")
