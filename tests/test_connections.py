"""Connections (`SEGMENTS_CONNECTION_<NAME>`) and model refs (`SEGMENTS_MODEL_<NAME>`): a named
endpoint with its auth, a relative path that never leaves it, listed by name in the catalog."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.connections import ConnectionSettingError, Endpoints
from activities.contracts import ERROR_CONFIG, RunInfo, StepActivityInput
from activities.http_action import HttpActions
from activities.http_target import ERROR_CONNECTION
from activities.llm.activity import LlmActivities
from activities.llm.base import ProviderRegistry
from activities.llm.openai_provider import OpenAIProvider
from activities.secrets import EnvSecretProvider
from client.api import load_catalog
from segments.builtin_types import default_catalog
from segments.connection_paths import PathRefused, join_url, path_problem
from segments.validation import validate_definition
from tests.conftest import start_segment
from tests.standins.http_server import Reply, StandinHttpServer
from tests.standins.openai_server import OpenAIStandin
from tests.test_http_action_activity import settings
from worker import build_components, running_worker

CANARY = "canary-connection-5b1d-secret"
TRICKS = [
    "@evil.example/x",
    "//evil.example/x",
    "http://evil.example/x",
    "https:evil.example",
    "\\\\evil.example\\x",
    "/%2f%2fevil.example",
    "/%252f%252fevil.example",
    "/%5c%5cevil.example",
    "/%40evil.example",
    "/../admin",
    "/a/%2e%2e/%2e%2e/admin",
    "/orders#frag",
    "/orders\n",
]


def _connection(base_url: str, **extra: Any) -> str:
    return json.dumps({"base_url": base_url, "auth": {"type": "bearer", "secret": "ERP_TOKEN"}, **extra})


# --- the path, pure ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TRICKS)
def test_path_tricks_are_refused(path: str) -> None:
    assert path_problem(path) is not None
    with pytest.raises(PathRefused):
        join_url("https://erp.example/api", path)


def test_paths_under_the_base_url_are_joined() -> None:
    assert join_url("https://erp.example/api/v1", "/orders") == "https://erp.example/api/v1/orders"
    assert (
        join_url("https://erp.example/api/", "orders/7?full=1") == "https://erp.example/api/orders/7?full=1"
    )
    assert join_url("https://erp.example:8443", "/a%20b") == "https://erp.example:8443/a%20b"


def test_validation_refuses_static_path_tricks_and_mixed_configs() -> None:
    def segment(config: dict[str, Any]) -> dict[str, Any]:
        return {
            "segment_id": "c",
            "steps": [{"step_id": "call", "type": "http_action", "config": config}],
            "edges": [],
        }

    catalog = default_catalog()
    assert validate_definition(segment({"connection": "erp", "path": "/orders"}), catalog) == []
    assert validate_definition(segment({"connection": "erp", "path": "/o/{% input.id %}"}), catalog) == []
    problems = [
        str(p) for p in validate_definition(segment({"connection": "erp", "path": "//evil.example"}), catalog)
    ]
    assert problems == [
        "steps[0].config.path: path holds '//' (an authority trick that could name another host)"
    ]
    both = segment({"connection": "erp", "url": "https://x.example"})
    assert [p.message for p in validate_definition(both, catalog)] == [
        "give either `url` or `connection` (with `path`), not both"
    ]
    with_auth = segment({"connection": "erp", "path": "/", "auth": {"type": "bearer", "secret": "X"}})
    assert [p.message for p in validate_definition(with_auth, catalog)] == [
        "a connection brings its own auth; remove `auth`"
    ]


# --- settings and the catalog ----------------------------------------------------------------------


async def test_settings_are_read_by_case_insensitive_name_and_listed_by_name_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "SEGMENTS_CONNECTION_ERP", _connection("https://erp.example/api", headers={"X-Key": CANARY})
    )
    monkeypatch.setenv("SEGMENTS_MODEL_FAST", "openai:gpt-4o-mini")
    endpoints = Endpoints.from_env()
    connection = endpoints.connection("Erp")
    assert connection is not None and connection.base_url == "https://erp.example/api"
    model = endpoints.model("fast")
    assert model is not None and (model.provider, model.model) == ("openai", "gpt-4o-mini")
    exported = load_catalog(plugins=[]).export_for_ui()
    assert exported["connections"] == ["erp"]
    assert exported["model_refs"] == ["fast"]
    assert CANARY not in json.dumps(exported) and "erp.example" not in json.dumps(exported)
    components = build_components(plugins=[])
    assert components.catalog.export_for_ui()["connections"] == ["erp"]
    for close in components.closers:
        result = close()
        if inspect.isawaitable(result):
            await result


def test_a_bad_setting_names_the_variable_not_its_value() -> None:
    with pytest.raises(ConnectionSettingError) as caught:
        Endpoints.from_env({"SEGMENTS_CONNECTION_ERP": f'{{"base_url": "ftp://{CANARY}"}}'})
    assert "SEGMENTS_CONNECTION_ERP" in str(caught.value) and CANARY not in str(caught.value)
    with pytest.raises(ConnectionSettingError, match="SEGMENTS_MODEL_FAST"):
        Endpoints.from_env({"SEGMENTS_MODEL_FAST": "gpt-4o"})


# --- the activity against loopback servers --------------------------------------------------------


@pytest.fixture
def server() -> Iterator[StandinHttpServer]:
    with StandinHttpServer() as running:
        yield running


def _actions(env: dict[str, str]) -> HttpActions:
    secrets = EnvSecretProvider({"SEGMENTS_SECRET_ERP_TOKEN": CANARY})
    return HttpActions(secrets, settings(), endpoints=Endpoints.from_env(env))


def _input(config: dict[str, Any], tenant: str | None = "acme") -> StepActivityInput:
    run = RunInfo(run_id="run-c", segment_id="orders", tenant_id=tenant, started_at="2026-01-01T00:00:00Z")
    return StepActivityInput(step_id="place", step_type="http_action", config=config, run=run)


@pytest.fixture
async def erp(server: StandinHttpServer) -> AsyncIterator[HttpActions]:
    env = {"SEGMENTS_CONNECTION_ERP": _connection(f"{server.url}/api", headers={"X-Erp-Client": "engine"})}
    async with _actions(env) as actions:
        yield actions


async def test_a_connection_call_carries_its_auth_and_headers_under_its_base_url(
    erp: HttpActions, server: StandinHttpServer
) -> None:
    config = {
        "method": "POST",
        "connection": "ERP",
        "path": "/orders",
        "body": {"sku": "A"},
        "query": {"x": 1},
    }
    result = await ActivityEnvironment().run(erp.http_action, _input(config))
    assert result["status"] == 200
    (request,) = server.requests
    assert request.path == "/api/orders"
    assert request.headers["authorization"] == f"Bearer {CANARY}"
    assert request.headers["x-erp-client"] == "engine"
    assert CANARY not in json.dumps(result)


async def test_a_connection_secret_goes_to_its_host_only(erp: HttpActions, server: StandinHttpServer) -> None:
    """A redirect off the connection's host drops its auth and its headers."""
    with StandinHttpServer() as elsewhere:
        server.reply(Reply(302, headers={"Location": f"{elsewhere.url}/collect"}), path="/api/orders")
        await ActivityEnvironment().run(erp.http_action, _input({"connection": "erp", "path": "/orders"}))
        (first,) = server.requests
        assert first.headers["authorization"] == f"Bearer {CANARY}"
        (other,) = elsewhere.requests
        assert "authorization" not in other.headers and "x-erp-client" not in other.headers


@pytest.mark.parametrize("path", ["/%2f%2fevil.example", "//evil.example", "/a/../../x", "@evil.example"])
async def test_a_rendered_path_trick_is_refused_at_run_time(
    erp: HttpActions, server: StandinHttpServer, path: str
) -> None:
    """The activity checks the path again: a template may have rendered it from run data."""
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(erp.http_action, _input({"connection": "erp", "path": path}))
    assert caught.value.non_retryable and caught.value.type in (ERROR_CONNECTION, ERROR_CONFIG)
    assert server.requests == []


async def test_unknown_connection_and_other_tenants_are_refused(server: StandinHttpServer) -> None:
    env = {"SEGMENTS_CONNECTION_ERP": _connection(server.url, tenants=["acme"])}
    async with _actions(env) as actions:
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(actions.http_action, _input({"connection": "crm", "path": "/"}))
        assert "SEGMENTS_CONNECTION_CRM" in caught.value.message and "erp" in caught.value.message
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(
                actions.http_action, _input({"connection": "erp", "path": "/"}, "other")
            )
        assert caught.value.type == ERROR_CONNECTION and "tenant 'other'" in caught.value.message
    assert server.requests == []


# --- a run on the real Temporal server ------------------------------------------------------------


async def test_a_run_refuses_a_path_trick_from_its_input_and_calls_the_connection_otherwise(
    client: Client, server: StandinHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENTS_CONNECTION_ERP", _connection(f"{server.url}/api"))
    monkeypatch.setenv("SEGMENTS_SECRET_ERP_TOKEN", CANARY)
    monkeypatch.setenv("SEGMENTS_HTTP_ALLOW", "127.0.0.1")
    segment = {
        "segment_id": "connection_run",
        "steps": [
            {
                "step_id": "place",
                "type": "http_action",
                "name": "Place order",
                "config": {
                    "method": "POST",
                    "connection": "erp",
                    "path": "{% input.path %}",
                    "body": {"n": 1},
                },
            }
        ],
        "edges": [],
        "output": "steps.place.output.status",
    }
    async with running_worker(client, "segments-tests-connections", build_components(plugins=[])):
        ok = await start_segment(client, "segments-tests-connections", segment, {"path": "/orders"})
        assert await ok.result() == 200
        history = await ok.fetch_history()
        summaries = [e.user_metadata.summary.data for e in history.events if e.HasField("user_metadata")]
        assert any(b"connection erp" in s for s in summaries)
        bad = await start_segment(
            client, "segments-tests-connections", segment, {"path": "/%2f%2fevil.example/x"}
        )
        with pytest.raises(WorkflowFailureError) as caught:
            await bad.result()
    assert [r.path for r in server.requests] == ["/api/orders"]
    assert server.requests[0].headers["authorization"] == f"Bearer {CANARY}"
    assert "would leave" in str(caught.value.cause) or "'//'" in str(caught.value.cause)


# --- model refs against the local OpenAI stand-in ------------------------------------------------


async def test_llm_ref_is_resolved_on_the_worker_and_named_in_the_output() -> None:
    with OpenAIStandin() as api:
        registry = ProviderRegistry(
            {"openai": OpenAIProvider(api_key="sk-test-ref", base_url=api.base_url, environ={})}
        )
        llm = LlmActivities(
            registry, endpoints=Endpoints.from_env({"SEGMENTS_MODEL_FAST": "openai:gpt-ref-mini"})
        )
        try:
            api.reply_text("Short.")
            step = StepActivityInput(
                step_id="summarize",
                step_type="llm_agent",
                config={"llm_ref": "Fast", "prompt": "Summarize"},
                run=RunInfo(
                    run_id="run-m", segment_id="s", tenant_id=None, started_at="2026-01-01T00:00:00Z"
                ),
            )
            result = await ActivityEnvironment().run(llm.llm_agent, step)
            assert (result["text"], result["model"], result["provider"], result["llm_ref"]) == (
                "Short.",
                "gpt-ref-mini",
                "openai",
                "Fast",
            )
            assert api.requests[0].json()["model"] == "gpt-ref-mini"
            unknown = dataclasses.replace(step, config={"llm_ref": "slow", "prompt": "x"})
            with pytest.raises(ApplicationError) as caught:
                await ActivityEnvironment().run(llm.llm_agent, unknown)
            assert caught.value.non_retryable and "SEGMENTS_MODEL_SLOW=provider:model" in caught.value.message
        finally:
            await llm.aclose()


def test_llm_ref_replaces_provider_and_model_at_validation() -> None:
    def segment(config: dict[str, Any]) -> dict[str, Any]:
        step = {"step_id": "ask", "type": "llm_agent", "config": {"prompt": "hi", **config}}
        return {"segment_id": "m", "steps": [step], "edges": []}

    catalog = default_catalog()
    assert validate_definition(segment({"llm_ref": "fast"}), catalog) == []
    assert [
        p.message for p in validate_definition(segment({"llm_ref": "fast", "model": "gpt-4o"}), catalog)
    ] == ["give either `llm_ref` or `provider` and `model`, not both"]
    assert [p.message for p in validate_definition(segment({}), catalog)] == [
        "give `model` (and `provider`), or `llm_ref`"
    ]
