"""Anthropic through the Messages API.

Settings: `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` (optional). Structured answers are
requested the native way: one tool whose `input_schema` is the schema, forced with
`tool_choice`; the tool call's `input` is the answer. `max_tokens` is required by the API:
4096 when the step sets none. This SDK version has no `temperature` argument, so it is
sent in the request body as the API's field of that name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anthropic
from anthropic.types import MessageParam, TextBlock, ToolUseBlock

from activities.llm.base import LlmRequest, LlmResult
from activities.llm.errors import (
    api_status_error,
    api_transport_error,
    not_structured_error,
    refusal_error,
    response_text,
)
from activities.llm.sdk_client import LazySdkClient

DEFAULT_MAX_TOKENS = 4096


class AnthropicProvider:
    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 600.0,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._default_max_tokens = default_max_tokens
        self._client = LazySdkClient(
            "anthropic",
            "ANTHROPIC",
            lambda key, url, seconds: anthropic.AsyncAnthropic(
                api_key=key, base_url=url, max_retries=0, timeout=seconds
            ),
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            environ=environ,
        )

    def _sdk(self) -> anthropic.AsyncAnthropic:
        return self._client.get()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(self, request: LlmRequest) -> LlmResult:
        what = f"step '{request.step_id}': anthropic model {request.model}"
        messages: list[MessageParam] = [{"role": "user", "content": request.prompt}]
        tools: Any = anthropic.omit
        tool_choice: Any = anthropic.omit
        if request.response_schema is not None:
            tools = [
                {
                    "name": request.schema_name,
                    "description": "Give your answer by calling this tool; its input is the answer.",
                    "input_schema": request.response_schema,
                }
            ]
            tool_choice = {"type": "tool", "name": request.schema_name, "disable_parallel_tool_use": True}
        client = self._sdk()
        try:
            message = await client.messages.create(
                model=request.model,
                max_tokens=request.max_tokens or self._default_max_tokens,
                messages=messages,
                system=request.system if request.system else anthropic.omit,
                tools=tools,
                tool_choice=tool_choice,
                extra_body={"temperature": request.temperature} if request.temperature is not None else None,
            )
        except anthropic.APIStatusError as exc:
            raise api_status_error(
                what,
                exc.status_code,
                exc.response.headers,
                response_text(exc.response),
                exc.api_message,
                secrets=[self._client.api_key or ""],
            ) from None
        except anthropic.APITimeoutError as exc:
            raise api_transport_error(what, exc, timeout=True) from None
        except anthropic.APIConnectionError as exc:
            raise api_transport_error(what, exc, timeout=False) from None

        text = "".join(block.text for block in message.content if isinstance(block, TextBlock))
        if message.stop_reason == "refusal":
            raise refusal_error(what, text or None)
        structured: Any = None
        if request.response_schema is not None:
            calls = [
                b for b in message.content if isinstance(b, ToolUseBlock) and b.name == request.schema_name
            ]
            if not calls:
                raise not_structured_error(what, text or "(no tool call in the answer)")
            structured = calls[0].input
            text = json.dumps(structured, ensure_ascii=False)
        usage = message.usage
        input_tokens = (
            usage.input_tokens
            + (usage.cache_creation_input_tokens or 0)
            + (usage.cache_read_input_tokens or 0)
        )
        return LlmResult(
            text=text,
            model=message.model,
            finish_reason=message.stop_reason,
            input_tokens=input_tokens,
            output_tokens=usage.output_tokens,
            structured=structured,
        )
