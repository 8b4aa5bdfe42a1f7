"""A stand-in for the OpenAI Chat Completions API (`POST /v1/chat/completions`), on a real socket.

    with OpenAIStandin() as api:
        api.fail(429, "slow down", headers={"Retry-After": "7"})
        api.reply_json({"total": 3})
        provider = OpenAIProvider(api_key="sk-test", base_url=api.base_url)

Speaks enough of the wire format for the official SDK: `choices[].message` with `content`
or `refusal`, `finish_reason`, `usage`, and the `{"error": {...}}` body of failures.
Without a scripted answer it replies "ok".
"""

from __future__ import annotations

import json
from typing import Any

from examples.standins.openai_api import completion_body
from tests.standins.http_server import RecordedRequest, Reply
from tests.standins.scripted_api import ScriptedApi

PATH = "/v1/chat/completions"


class OpenAIStandin(ScriptedApi):
    path = PATH

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1"

    def reply_text(self, text: str, *, finish_reason: str = "stop", usage: tuple[int, int] = (11, 7)) -> None:
        self._script.append({"content": text, "finish_reason": finish_reason, "usage": usage})

    def reply_json(self, value: Any, *, usage: tuple[int, int] = (11, 7)) -> None:
        self.reply_text(json.dumps(value), usage=usage)

    def reply_refusal(self, text: str) -> None:
        self._script.append({"refusal": text, "finish_reason": "stop", "usage": (5, 3)})

    def fail(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = {"error": {"message": message, "type": type, "param": None, "code": code}}
        self._script.append(
            {"error": Reply(status, body, headers={"x-request-id": "req_test", **(headers or {})})}
        )

    def _answer(self, request: RecordedRequest) -> Reply:
        step: dict[str, Any] = (
            self._script.pop(0)
            if self._script
            else {"content": "ok", "finish_reason": "stop", "usage": (11, 7)}
        )
        if "error" in step:
            error: Reply = step["error"]
            return error
        model = request.json().get("model", "gpt-test")
        return Reply(
            200,
            completion_body(
                model,
                content=step.get("content"),
                refusal=step.get("refusal"),
                finish_reason=step["finish_reason"],
                usage=step["usage"],
            ),
        )
