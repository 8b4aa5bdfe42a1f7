"""Tracing: with SEGMENTS_TRACING set, every step leaves a span carrying its id and type."""

import uuid

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from client.tracing import client_interceptors, install_tracer_provider, worker_interceptors
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
