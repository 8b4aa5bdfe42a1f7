"""OpenTelemetry tracing, off unless configured: `SEGMENTS_TRACING=otlp|console`.

With it on, worker and client add Temporal's `TracingInterceptor` (spans for runs, activities and
child workflows, propagated through headers) and `StepSpanInterceptor`, which stamps each step's
activity span with `segment.step_id`, `segment.step_type`, `segment.visit` and
`segment.task_path`. Steps that run inside the workflow (conditions) are recorded by the
interpreter as completed spans named `Step:<step_id>`, created only when not replaying.

`otlp` exports with the OTLP exporter (`pip install opentelemetry-exporter-otlp`; endpoint from
the standard `OTEL_EXPORTER_OTLP_ENDPOINT`); `console` prints spans, for a quick look.

When the codec encrypts (`SEGMENTS_CODEC_KEYS`), exported spans carry only the type of an error,
never its message or stack trace (`client.trace_redaction`): the message is ciphertext in
history and must not leave in the clear through the collector.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio import activity
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.contracts import StepActivityInput
from client.codec import codec_from_env
from client.trace_redaction import ErrorTextRedactor

TRACING_ENV = "SEGMENTS_TRACING"


class StepSpanInterceptor(Interceptor):
    """Adds the step's identity to the span of every step activity."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _StepSpanActivityInbound(next)


class _StepSpanActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        step = input.args[0] if input.args else None
        if isinstance(step, StepActivityInput):
            span = trace.get_current_span()
            span.set_attribute("segment.step_id", step.step_id)
            span.set_attribute("segment.step_type", step.step_type)
            span.set_attribute("segment.visit", step.visit)
            span.set_attribute("segment.task_path", step.task_path)
            span.set_attribute("segment.run_id", step.run.run_id)
            span.set_attribute("segment.activity", activity.info().activity_type)
        return await super().execute_activity(input)


def tracing_mode(environ: Mapping[str, str] | None = None) -> str | None:
    env = environ if environ is not None else os.environ
    mode = env.get(TRACING_ENV, "").strip().lower()
    return mode or None


def client_interceptors(environ: Mapping[str, str] | None = None) -> list[Any]:
    """Interceptors for `Client.connect`: none unless tracing is configured. A worker built on
    the client inherits them; it adds `worker_interceptors()` of its own."""
    mode = tracing_mode(environ)
    if mode is None:
        return []
    if mode not in ("otlp", "console", "sdk"):
        raise ValueError(f"{TRACING_ENV}={mode!r}: use 'otlp', 'console', or leave it unset")
    if mode != "sdk":  # 'sdk': the process set up its own TracerProvider (tests, embedding apps)
        install_tracer_provider(exporter_for(mode, environ))
    return [TracingInterceptor()]


def worker_interceptors(environ: Mapping[str, str] | None = None) -> list[Interceptor]:
    return [StepSpanInterceptor()] if tracing_mode(environ) is not None else []


def install_tracer_provider(exporter: SpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "segments-worker"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def exporter_for(mode: str, environ: Mapping[str, str] | None = None) -> SpanExporter:
    """The exporter of `mode`, wrapped in `ErrorTextRedactor` when the codec encrypts."""
    exporter = _exporter(mode)
    codec = codec_from_env(environ)
    return ErrorTextRedactor(exporter) if codec is not None and codec.encrypts else exporter


def _exporter(mode: str) -> SpanExporter:
    if mode == "console":
        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ValueError(f"{TRACING_ENV}=otlp needs: pip install opentelemetry-exporter-otlp") from None
    exporter: SpanExporter = OTLPSpanExporter()
    return exporter
