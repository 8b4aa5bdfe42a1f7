"""OpenAI (and OpenAI-compatible servers) through Chat Completions.

Settings: `OPENAI_API_KEY`, `OPENAI_BASE_URL` (optional: a compatible server or a gateway).
Structured answers use `response_format` `json_schema` with `strict: true`; strict mode wants
every object to list all its properties in `required` and set `additionalProperties: false`
(OpenAI answers 400 otherwise, which fails the step without retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

from activities.llm.base import LlmRequest, LlmResult
from activities.llm.errors import (
    api_status_error,
    api_transport_error,
    parse_structured,
    refusal_error,
    response_text,
)
from activities.llm.sdk_client import LazySdkClient

REFUSAL_CODES = frozenset({"content_policy_violation", "content_filter"})


class OpenAIProvider:
    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 600.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._client = LazySdkClient(
            "openai",
            "OPENAI",
            lambda key, url, seconds: openai.AsyncOpenAI(
                api_key=key, base_url=url, max_retries=0, timeout=seconds
            ),
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            environ=environ,
        )

    def _sdk(self) -> openai.AsyncOpenAI:
        return self._client.get()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(self, request: LlmRequest) -> LlmResult:
        what = f"step '{request.step_id}': openai model {request.model}"
        messages: list[ChatCompletionMessageParam] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        response_format: Any = openai.omit
        if request.response_schema is not None:
            response_format = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name,
                    "schema": request.response_schema,
                    "strict": True,
                },
            }
        client = self._sdk()
        try:
            completion = await client.chat.completions.create(
                model=request.model,
                messages=messages,
                temperature=request.temperature if request.temperature is not None else openai.omit,
                max_completion_tokens=request.max_tokens if request.max_tokens is not None else openai.omit,
                response_format=response_format,
            )
        except openai.APIStatusError as exc:
            error = exc.body if isinstance(exc.body, dict) else {}
            if exc.status_code == 400 and error.get("code") in REFUSAL_CODES:
                raise refusal_error(what, str(error.get("message") or "")) from None
            raise api_status_error(
                what,
                exc.status_code,
                exc.response.headers,
                response_text(exc.response),
                str(error.get("message") or "") or None,
                secrets=[self._client.api_key or ""],
            ) from None
        except openai.APITimeoutError as exc:
            raise api_transport_error(what, exc, timeout=True) from None
        except openai.APIConnectionError as exc:
            raise api_transport_error(what, exc, timeout=False) from None

        if not completion.choices:
            raise api_transport_error(what, RuntimeError("the answer has no choices"), timeout=False)
        choice = completion.choices[0]
        if choice.message.refusal or choice.finish_reason == "content_filter":
            raise refusal_error(what, choice.message.refusal)
        text = choice.message.content or ""
        usage = completion.usage
        return LlmResult(
            text=text,
            model=completion.model,
            finish_reason=choice.finish_reason,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            structured=parse_structured(what, text) if request.response_schema is not None else None,
        )
