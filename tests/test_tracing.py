"""Tracing: with SEGMENTS_TRACING set, every step leaves a span carrying its id and type."""

import base64
import uuid
from collections.abc import Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from temporalio.client import Client, WorkflowFailureError

from client.trace_redaction import ErrorTextRedactor
from client.tracing import client_interceptors, exporter_for, install_tracer_provider, worker_interceptors
from tests.conftest import start_segment
from worker import build_components, running_worker


def test_tracing_is_off_unless_configured() -> None:
    assert client_interceptors({}) == [] and worker_interceptors({}) == []
    with pytest.raises(ValueError, match="use 'otlp', 'console'"):
        client_interceptors({"SEGMENTS_TRACING": "jaeger"})


async def test_each_step_has_a_span_with_its_id_and_type(client: Client) -> None:
    exporter = InMemorySpanExporter()
    provider = install_tracer_provider(exporter)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    env = {"SEGMENTS_TRACING": "sdk"}
    traced = Client(client.service_client, namespace=client.namespace, interceptors=client_interceptors(env))
    queue = f"traced-{uuid.uuid4().hex[:6]}"
    segment = {
        "segment_id": "traced",
        "steps": [
            {"step_id": "price", "type": "transform", "config": {"expression": "input.n * 2"}},
            {"step_id": "big", "type": "condition", "config": {"expression": "steps.price.output > 5"}},
            {"step_id": "label", "type": "transform", "config": {"expression": "'big'"}},
        ],
        "edges": [
            {"source": "price", "target": "big"},
            {"source": "big", "source_port": "true", "target": "label"},
        ],
    }
    async with running_worker(
        traced, queue, build_components(plugins=[]), interceptors=worker_interceptors(env)
    ):
        handle = await start_segment(traced, queue, segment, {"n": 4})
        assert await handle.result() == {"label": "big"}
    provider.force_flush()
    steps = {}
    for span in exporter.get_finished_spans():
        attributes = span.attributes or {}
        if "segment.step_id" in attributes:
            steps[attributes["segment.step_id"]] = (attributes["segment.step_type"], span.name)
    assert steps["price"][0] == "transform" and steps["label"][0] == "transform"
    assert steps["big"] == ("condition", "Step:big")


def _sdk_provider() -> TracerProvider:
    """The process's SDK provider (OpenTelemetry allows setting it once per process)."""
    current = trace.get_tracer_provider()
    return current if isinstance(current, TracerProvider) else install_tracer_provider(InMemorySpanExporter())


def _error_text(spans: Sequence[ReadableSpan]) -> str:
    parts = [str(span.status.description) for span in spans]
    parts += [str(dict(event.attributes or {})) for span in spans for event in span.events]
    return " ".join(parts)


async def test_with_encryption_spans_carry_no_error_text(client: Client) -> None:
    """Review L3: a failing step's message (here quoting a customer's SSN) reaches the collector
    only as the exception type when the codec encrypts."""
    canary = "customer_ssn 123-45-6789"
    provider = _sdk_provider()
    raw, clean = InMemorySpanExporter(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(raw))
    provider.add_span_processor(SimpleSpanProcessor(ErrorTextRedactor(clean)))
    env = {"SEGMENTS_TRACING": "sdk"}
    traced = Client(client.service_client, namespace=client.namespace, interceptors=client_interceptors(env))
    queue = f"traced-{uuid.uuid4().hex[:6]}"
    segment = {
        "segment_id": "leaky",
        "steps": [
            {
                "step_id": "boom",
                "type": "transform",
                "retry": {"max_attempts": 1},
                "config": {"expression": f'$error("{canary}")'},
            }
        ],
        "edges": [],
    }
    async with running_worker(
        traced, queue, build_components(plugins=[]), interceptors=worker_interceptors(env)
    ):
        handle = await start_segment(traced, queue, segment, {})
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    provider.force_flush()
    assert canary in _error_text(raw.get_finished_spans())  # what tracing exports without redaction
    exported = clean.get_finished_spans()
    assert any(span.status.status_code == StatusCode.ERROR for span in exported)
    assert canary not in _error_text(exported)
    keys = {"SEGMENTS_CODEC_KEYS": "k1:" + base64.b64encode(bytes(32)).decode()}
    assert isinstance(exporter_for("console", keys), ErrorTextRedactor)
    assert not isinstance(exporter_for("console", {}), ErrorTextRedactor)
