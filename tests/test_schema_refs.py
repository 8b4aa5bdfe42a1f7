"""JSON Schemas fetch nothing (review finding C1): a `$ref` to a file or to a loopback server is
never read, neither when a run starts nor in an activity, and errors quote neither the schema nor
the value.

The activity tests pass the schema straight to `http_action`, as a config rendered at run time
from a template would reach it (validation cannot see a `$ref` computed by an expression)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import RunInfo, StepActivityInput
from activities.egress import AllowList
from activities.http_action import HttpActions
from activities.http_settings import HttpSettings
from activities.secrets import EnvSecretProvider
from segments.builtin_types import default_catalog
from segments.schemas import SchemaCheckError, schema_mismatches
from segments.validation import validate_definition
from tests.conftest import start_segment
from tests.standins.http_server import Reply, StandinHttpServer

CANARY = "canary-key-5b1e0d"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """A file shaped like a cloud service-account key: an unknown `type` made jsonschema quote it."""
    path = tmp_path / "sa-key.json"
    path.write_text(json.dumps({"type": "service_account", "private_key": CANARY}))
    return path


@pytest.fixture
def public() -> Iterator[StandinHttpServer]:
    with StandinHttpServer() as server:
        server.reply(Reply(200, {"ok": True}), path="/api")
        yield server


@pytest.fixture
def internal() -> Iterator[StandinHttpServer]:
    """The service a `$ref` points at: it serves a schema, and records whether anyone asked."""
    with StandinHttpServer() as server:
        server.reply(Reply(200, {"type": "object"}))
        yield server


@pytest.fixture
async def actions(public: StandinHttpServer) -> AsyncIterator[HttpActions]:
    settings = HttpSettings(
        allow=AllowList.parse(f"127.0.0.1:{public.port}"), default_timeout=timedelta(seconds=5)
    )
    async with HttpActions(EnvSecretProvider({}), settings) as built:
        yield built


async def http_failure(actions: HttpActions, config: dict[str, Any]) -> ApplicationError:
    step = StepActivityInput(
        step_id="probe",
        step_type="http_action",
        config=config,
        run=RunInfo(run_id="run-1", segment_id="leak", tenant_id="acme", started_at="2026-01-01T00:00:00Z"),
        visit=1,
    )
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(actions.http_action, step)
    return caught.value


def shown(error: ApplicationError) -> str:
    return f"{error.message} {json.dumps(error.details, default=str)}"


async def test_file_ref_in_response_schema_reads_nothing(
    actions: HttpActions, public: StandinHttpServer, key_file: Path
) -> None:
    error = await http_failure(
        actions, {"url": f"{public.url}/api", "response_schema": {"$ref": key_file.as_uri()}}
    )
    assert error.non_retryable
    assert "only local references" in error.message
    assert CANARY not in shown(error) and "service_account" not in shown(error)


async def test_loopback_ref_in_request_schema_is_never_contacted(
    actions: HttpActions, public: StandinHttpServer, internal: StandinHttpServer
) -> None:
    error = await http_failure(
        actions,
        {
            "method": "POST",
            "url": f"{public.url}/api",
            "body": {"a": 1},
            "request_schema": {"properties": {"a": {"$ref": f"{internal.url}/latest/meta-data"}}},
        },
    )
    assert error.non_retryable and "only local references" in error.message
    assert internal.requests == []
    assert public.requests == []  # the request itself is not sent either


def test_a_ref_that_slipped_past_resolves_to_an_error_not_a_fetch(internal: StandinHttpServer) -> None:
    """The registry has no `retrieve`: even without the up-front check nothing is fetched."""
    from segments.schemas import build_validator

    validator = build_validator({"$ref": f"{internal.url}/schema.json"})
    with pytest.raises(Exception, match="Unresolvable"):
        list(validator.iter_errors({"a": 1}))
    assert internal.requests == []


def test_mismatch_messages_quote_neither_value_nor_schema() -> None:
    schema = {"type": "object", "properties": {"ssn": {"type": "integer", "description": "SCHEMA-TEXT"}}}
    problems = schema_mismatches({"ssn": "123-45-6789"}, schema)
    assert problems == ['at $.ssn: fails "type"']


def test_checking_is_bounded() -> None:
    """jsonschema's uniqueItems is O(n²) on objects, and `pattern` backtracks: both are bounded here."""
    assert schema_mismatches([{"k": i} for i in range(20_000)] + [{"k": 0}], {"uniqueItems": True}) == [
        'at $: fails "uniqueItems"'
    ]
    assert schema_mismatches("a" * 5_000 + "!", {"pattern": "^(a+)+$"}) == ['at $: fails "pattern"']
    with pytest.raises(SchemaCheckError, match="steps"):
        schema_mismatches([[i, i] for i in range(60_000)], {"items": {"items": {"type": "integer"}}})


def test_segments_validate_reports_each_remote_ref_with_its_path() -> None:
    definition = json.loads((Path(__file__).parent / "invalid" / "remote_schema_refs.json").read_text())
    problems = {p.path for p in validate_definition(definition, default_catalog())}
    assert {
        "input_schema.properties.key.$ref",
        "steps[0].config.input_schema",
        "steps[1].config.response_schema",
        "steps[2].config.response_schema",
    } <= problems


async def test_raw_client_run_with_a_remote_ref_fails_at_start_and_fetches_nothing(
    client: Client, worker: str, internal: StandinHttpServer
) -> None:
    segment = {
        "segment_id": "remote_ref",
        "input_schema": {"type": "object", "properties": {"key": {"$ref": f"{internal.url}/key.json"}}},
        "steps": [{"step_id": "a", "type": "transform", "config": {"expression": "input"}}],
        "edges": [],
    }
    handle = await start_segment(
        client, worker, segment, {"key": 1}, workflow_id=f"ref-{uuid.uuid4().hex[:8]}"
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 60)  # on a wedged run (workflow task failing) this times out
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidSegment"
    assert "input_schema.properties.key.$ref" in cause.message
    assert internal.requests == []
