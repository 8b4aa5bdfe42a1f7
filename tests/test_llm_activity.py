"""`llm_agent` run as a real activity, through the official SDKs, against local stand-in APIs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts import (
    ERROR_CONFIG,
    ERROR_LLM_PROVIDER,
    ERROR_LLM_REFUSAL,
    ERROR_SCHEMA,
    ERROR_SECRET_MISSING,
    RunInfo,
    StepActivityInput,
)
from activities.llm.activity import LlmActivities
from activities.llm.anthropic_provider import AnthropicProvider
from activities.llm.base import LlmRequest, LlmResult, ProviderRegistry
from activities.llm.openai_provider import OpenAIProvider
from tests.standins.anthropic_server import AnthropicStandin
from tests.standins.openai_server import OpenAIStandin

OPENAI_KEY = "sk-openai-canary-51d0"
ANTHROPIC_KEY = "sk-ant-canary-8e2b"
TOTAL_SCHEMA = {
    "title": "Order total",
    "type": "object",
    "properties": {"total": {"type": "number"}, "currency": {"type": "string"}},
    "required": ["total", "currency"],
    "additionalProperties": False,
}


@pytest.fixture
def openai_api() -> Iterator[OpenAIStandin]:
    with OpenAIStandin() as api:
        yield api


@pytest.fixture
def anthropic_api() -> Iterator[AnthropicStandin]:
    with AnthropicStandin() as api:
        yield api


@pytest.fixture
async def llm(openai_api: OpenAIStandin, anthropic_api: AnthropicStandin) -> AsyncIterator[LlmActivities]:
    registry = ProviderRegistry(
        {
            "openai": OpenAIProvider(api_key=OPENAI_KEY, base_url=openai_api.base_url, environ={}),
            "anthropic": AnthropicProvider(
                api_key=ANTHROPIC_KEY, base_url=anthropic_api.base_url, environ={}
            ),
        }
    )
    activities = LlmActivities(registry)
    yield activities
    await activities.aclose()


def step_input(config: dict[str, Any]) -> StepActivityInput:
    return StepActivityInput(
        step_id="summarize",
        step_type="llm_agent",
        config=config,
        run=RunInfo(run_id="run-7", segment_id="seg", tenant_id=None, started_at="2026-01-01T00:00:00Z"),
    )


async def run(llm: LlmActivities, config: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await ActivityEnvironment().run(llm.llm_agent, step_input(config))
    return result


async def failure(llm: LlmActivities, config: dict[str, Any]) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await run(llm, config)
    for key in (OPENAI_KEY, ANTHROPIC_KEY):
        assert key not in caught.value.message and key not in json.dumps(caught.value.details, default=str)
    return caught.value


# -- OpenAI ----------------------------------------------------------------------------------


async def test_openai_plain_text(llm: LlmActivities, openai_api: OpenAIStandin) -> None:
    openai_api.reply_text("Three items, 42 EUR.", usage=(21, 9))
    result = await run(
        llm,
        {
            "model": "gpt-test-mini",
            "system": "Be brief.",
            "prompt": "Summarize the order",
            "temperature": 0.2,
            "max_tokens": 64,
        },
    )

    assert result == {
        "text": "Three items, 42 EUR.",
        "usage": {"input_tokens": 21, "output_tokens": 9},
        "model": "gpt-test-mini",
        "finish_reason": "stop",
    }
    (request,) = openai_api.requests
    sent = request.json()
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Summarize the order"},
    ]
    assert sent["temperature"] == 0.2 and sent["max_completion_tokens"] == 64
    assert "response_format" not in sent
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"


async def test_openai_structured_output(llm: LlmActivities, openai_api: OpenAIStandin) -> None:
    openai_api.reply_json({"total": 42.5, "currency": "EUR"})
    result = await run(llm, {"model": "gpt-test", "prompt": "Total?", "response_schema": TOTAL_SCHEMA})

    assert result["json"] == {"total": 42.5, "currency": "EUR"}
    assert json.loads(result["text"]) == result["json"]
    response_format = openai_api.requests[0].json()["response_format"]
    assert response_format == {
        "type": "json_schema",
        "json_schema": {"name": "Order_total", "schema": TOTAL_SCHEMA, "strict": True},
    }


async def test_openai_answer_not_matching_the_schema_is_retryable(
    llm: LlmActivities, openai_api: OpenAIStandin
) -> None:
    openai_api.reply_json({"total": "lots"})
    error = await failure(llm, {"model": "gpt-test", "prompt": "Total?", "response_schema": TOTAL_SCHEMA})
    assert error.type == ERROR_SCHEMA and not error.non_retryable
    assert "at $.currency: is required but missing" in error.message


async def test_openai_answer_that_is_not_json_is_retryable(
    llm: LlmActivities, openai_api: OpenAIStandin
) -> None:
    openai_api.reply_text("Sure! The total is 42.")
    error = await failure(llm, {"model": "gpt-test", "prompt": "Total?", "response_schema": TOTAL_SCHEMA})
    assert error.type == ERROR_SCHEMA and not error.non_retryable


async def test_openai_429_then_success(llm: LlmActivities, openai_api: OpenAIStandin) -> None:
    openai_api.fail(429, "Rate limit reached", type="rate_limit_error", headers={"Retry-After": "3"})
    openai_api.reply_text("done")
    config = {"model": "gpt-test", "prompt": "hi"}

    error = await failure(llm, config)
    assert error.type == ERROR_LLM_PROVIDER and not error.non_retryable
    assert error.next_retry_delay == timedelta(seconds=3)
    assert len(openai_api.requests) == 1  # the SDK did not retry on its own
    assert (await run(llm, config))["text"] == "done"


async def test_openai_400_is_not_retryable(llm: LlmActivities, openai_api: OpenAIStandin) -> None:
    openai_api.fail(400, "Invalid schema for response_format 'x': 'additionalProperties' is required")
    error = await failure(llm, {"model": "gpt-test", "prompt": "hi"})
    assert error.type == ERROR_LLM_PROVIDER and error.non_retryable
    assert "400" in error.message and "'additionalProperties' is required" in error.message


async def test_openai_500_is_retryable(llm: LlmActivities, openai_api: OpenAIStandin) -> None:
    openai_api.fail(500, "The server had an error", type="server_error")
    error = await failure(llm, {"model": "gpt-test", "prompt": "hi"})
    assert not error.non_retryable and error.details[0]["status"] == 500


async def test_openai_refusal_is_not_retryable(llm: LlmActivities, openai_api: OpenAIStandin) -> None:
    openai_api.reply_refusal("I can't help with that.")
    error = await failure(llm, {"model": "gpt-test", "prompt": "bad idea", "response_schema": TOTAL_SCHEMA})
    assert error.type == ERROR_LLM_REFUSAL and error.non_retryable
    assert "I can't help with that." in error.message


async def test_openai_content_policy_400_is_a_refusal(llm: LlmActivities, openai_api: OpenAIStandin) -> None:
    openai_api.fail(400, "Your request was rejected by our safety system", code="content_policy_violation")
    error = await failure(llm, {"model": "gpt-test", "prompt": "bad idea"})
    assert error.type == ERROR_LLM_REFUSAL and error.non_retryable


# -- Anthropic -------------------------------------------------------------------------------


async def test_anthropic_plain_text(llm: LlmActivities, anthropic_api: AnthropicStandin) -> None:
    anthropic_api.reply_text("Three items.", usage=(30, 4))
    result = await run(
        llm,
        {
            "provider": "anthropic",
            "model": "claude-test",
            "system": "Be brief.",
            "prompt": "Summarize",
            "temperature": 0.5,
        },
    )

    assert result == {
        "text": "Three items.",
        "usage": {"input_tokens": 30, "output_tokens": 4},
        "model": "claude-test",
        "finish_reason": "end_turn",
    }
    (request,) = anthropic_api.requests
    sent = request.json()
    assert sent["system"] == "Be brief."
    assert sent["messages"] == [{"role": "user", "content": "Summarize"}]
    assert sent["max_tokens"] == 4096 and sent["temperature"] == 0.5
    assert "tools" not in sent
    # this SDK version sends the key as a bearer token; older ones used x-api-key
    assert ANTHROPIC_KEY in (
        request.headers.get("x-api-key"),
        request.headers["authorization"].removeprefix("Bearer "),
    )


async def test_anthropic_structured_output_uses_a_forced_tool(
    llm: LlmActivities, anthropic_api: AnthropicStandin
) -> None:
    anthropic_api.reply_tool({"total": 7, "currency": "USD"})
    result = await run(
        llm,
        {
            "provider": "anthropic",
            "model": "claude-test",
            "prompt": "Total?",
            "max_tokens": 200,
            "response_schema": TOTAL_SCHEMA,
        },
    )

    assert result["json"] == {"total": 7, "currency": "USD"}
    assert json.loads(result["text"]) == result["json"]
    assert result["finish_reason"] == "tool_use"
    sent = anthropic_api.requests[0].json()
    assert sent["max_tokens"] == 200
    assert [tool["input_schema"] for tool in sent["tools"]] == [TOTAL_SCHEMA]
    assert sent["tool_choice"]["type"] == "tool" and sent["tool_choice"]["name"] == sent["tools"][0]["name"]


async def test_anthropic_structured_mismatch_is_retryable(
    llm: LlmActivities, anthropic_api: AnthropicStandin
) -> None:
    anthropic_api.reply_tool({"total": 7})
    error = await failure(
        llm,
        {
            "provider": "anthropic",
            "model": "claude-test",
            "prompt": "Total?",
            "response_schema": TOTAL_SCHEMA,
        },
    )
    assert error.type == ERROR_SCHEMA and not error.non_retryable


async def test_anthropic_429_then_success(llm: LlmActivities, anthropic_api: AnthropicStandin) -> None:
    anthropic_api.fail(
        429,
        "Number of requests has exceeded your rate limit",
        type="rate_limit_error",
        headers={"Retry-After": "12"},
    )
    anthropic_api.reply_text("ok now")
    config = {"provider": "anthropic", "model": "claude-test", "prompt": "hi"}

    error = await failure(llm, config)
    assert error.type == ERROR_LLM_PROVIDER and not error.non_retryable
    assert error.next_retry_delay == timedelta(seconds=12)
    assert len(anthropic_api.requests) == 1
    assert (await run(llm, config))["text"] == "ok now"


async def test_anthropic_400_is_not_retryable(llm: LlmActivities, anthropic_api: AnthropicStandin) -> None:
    anthropic_api.fail(400, "max_tokens: 999999 > 64000, which is the maximum allowed")
    error = await failure(
        llm, {"provider": "anthropic", "model": "claude-test", "prompt": "hi", "max_tokens": 999999}
    )
    assert error.type == ERROR_LLM_PROVIDER and error.non_retryable
    assert "which is the maximum allowed" in error.message


async def test_anthropic_overloaded_is_retryable(llm: LlmActivities, anthropic_api: AnthropicStandin) -> None:
    anthropic_api.fail(529, "Overloaded", type="overloaded_error")
    error = await failure(llm, {"provider": "anthropic", "model": "claude-test", "prompt": "hi"})
    assert not error.non_retryable and error.details[0]["status"] == 529


async def test_anthropic_refusal_is_not_retryable(
    llm: LlmActivities, anthropic_api: AnthropicStandin
) -> None:
    anthropic_api.reply_refusal()
    error = await failure(llm, {"provider": "anthropic", "model": "claude-test", "prompt": "bad idea"})
    assert error.type == ERROR_LLM_REFUSAL and error.non_retryable


# -- registry and configuration ------------------------------------------------------------------


async def test_unknown_provider_names_the_known_ones(llm: LlmActivities) -> None:
    error = await failure(llm, {"provider": "mistral", "model": "m", "prompt": "hi"})
    assert error.type == ERROR_CONFIG and error.non_retryable
    assert "'mistral'" in error.message and "anthropic, openai" in error.message


class EchoProvider:
    """A provider a worker might register: here it answers without any network."""

    async def complete(self, request: LlmRequest) -> LlmResult:
        return LlmResult(
            text=request.prompt.upper(), model=request.model, finish_reason="stop", input_tokens=1
        )


async def test_a_registered_provider_is_used(llm: LlmActivities) -> None:
    llm.providers.register("echo", EchoProvider())
    result = await run(llm, {"provider": "echo", "model": "e1", "prompt": "hi"})
    assert result["text"] == "HI" and result["usage"] == {"input_tokens": 1, "output_tokens": 0}


async def test_missing_api_key_is_not_retryable() -> None:
    llm = LlmActivities(ProviderRegistry({"openai": OpenAIProvider(environ={})}))
    error = await failure(llm, {"model": "gpt-test", "prompt": "hi"})
    assert error.type == ERROR_SECRET_MISSING and error.non_retryable
    assert "OPENAI_API_KEY" in error.message


async def test_bad_config_is_not_retryable(llm: LlmActivities) -> None:
    error = await failure(llm, {"model": "gpt-test", "prompt": "hi", "temperature": 5, "top_k": 3})
    assert error.type == ERROR_CONFIG and error.non_retryable
    assert "config.temperature" in error.message and "config.top_k" in error.message


def test_providers_read_their_settings_from_the_environment() -> None:
    env = {"OPENAI_API_KEY": "k1", "OPENAI_BASE_URL": "http://gw/v1", "ANTHROPIC_API_KEY": "k2"}
    openai_provider = OpenAIProvider(environ=env)
    anthropic_provider = AnthropicProvider(environ=env)
    assert openai_provider._client.api_key == "k1" and openai_provider._client.base_url == "http://gw/v1"
    assert anthropic_provider._client.api_key == "k2" and anthropic_provider._client.base_url is None
