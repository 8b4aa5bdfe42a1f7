"""Spans without error text, for deployments that encrypt payloads.

Temporal's `TracingInterceptor` sets a failed span's status to `"<type>: <message>"` and records
the exception (message and stack trace) as a span event. With the codec on, that message is
ciphertext in history but would reach the trace collector in the clear (review L3), and an
error message can quote a response body. `ErrorTextRedactor` wraps the exporter: every span
leaves with only the exception's type.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

KEPT_EXCEPTION_ATTRIBUTES = ("exception.type", "exception.escaped")


def redacted(span: ReadableSpan) -> ReadableSpan:
    """`span` with its status description cut to the exception type and exception events
    reduced to their type."""
    description = span.status.description
    if description:
        description = description.split(":", 1)[0].strip()
    events = [
        Event(
            event.name,
            {k: v for k, v in (event.attributes or {}).items() if k in KEPT_EXCEPTION_ATTRIBUTES},
            event.timestamp,
        )
        if event.name == "exception"
        else event
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, description or None),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ErrorTextRedactor(SpanExporter):
    """Exports through `inner`, after `redacted` on every span."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([redacted(span) for span in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)
