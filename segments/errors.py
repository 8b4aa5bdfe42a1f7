"""One root for the pure language's errors, so a caller can catch them all:

    SegmentError
    ├── InvalidSegment          a definition with problems (segments.validation), each with its path
    ├── ExpressionError         a JSONata expression that cannot be parsed or evaluated, or hit a bound
    ├── SchemaCheckError        a JSON Schema that cannot be used, or a check past its bound
    ├── DurationError           an ISO 8601 duration that cannot be read (also a ValueError)
    ├── RegexUnsupported        a pattern the linear-time regex engine cannot run (also a ValueError)
    ├── PluginError             a plugin module that cannot be loaded (also a RuntimeError)
    └── dialect errors          llmteam's mini-languages: TransformError, ConditionError, UnsafeCase

The error *types* that travel in Temporal failures (`ApplicationError.type`) are strings, named
once in `activities.contracts` (steps) and `workflows.errors` / `workflows.contract` (runs).
"""

from __future__ import annotations


class SegmentError(Exception):
    """Any error of the pure language (definitions, expressions, schemas, durations, dialects)."""
