"""A stand-in for the Anthropic Messages API (`POST /v1/messages`), on a real socket.

    with AnthropicStandin() as api:
        api.fail(500, "overloaded", type="api_error")
        api.reply_tool({"total": 3})   # a tool_use block named after the request's tool_choice
        provider = AnthropicProvider(api_key="sk-ant-test", base_url=api.base_url)

Speaks enough of the wire format for the official SDK: `content` blocks (`text`,
`tool_use`), `stop_reason`, `usage`, and the `{"type": "error", "error": {...}}` body of
failures. Without a scripted answer it replies with the text "ok".
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.standins.http_server import RecordedRequest, Reply
from tests.standins.scripted_api import ScriptedApi

PATH = "/v1/messages"
_ids = itertools.count(1)


class AnthropicStandin(ScriptedApi):
    path = PATH

    @property
    def base_url(self) -> str:
        return self.server.url

    def reply_text(
        self, text: str, *, stop_reason: str = "end_turn", usage: tuple[int, int] = (13, 8)
    ) -> None:
        self._script.append({"kind": "text", "text": text, "stop_reason": stop_reason, "usage": usage})

    def reply_tool(self, value: dict[str, Any], *, usage: tuple[int, int] = (13, 8)) -> None:
        """A `tool_use` block whose name is the one the request forced with `tool_choice`."""
        self._script.append({"kind": "tool", "input": value, "stop_reason": "tool_use", "usage": usage})

    def reply_refusal(self) -> None:
        self._script.append({"kind": "text", "text": "", "stop_reason": "refusal", "usage": (5, 0)})

    def fail(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._script.append(
            {"kind": "error", "status": status, "message": message, "type": type, "headers": headers}
        )

    def _answer(self, request: RecordedRequest) -> Reply:
        step: dict[str, Any] = (
            self._script.pop(0)
            if self._script
            else {"kind": "text", "text": "ok", "stop_reason": "end_turn", "usage": (13, 8)}
        )
        if step["kind"] == "error":
            body = {"type": "error", "error": {"type": step["type"], "message": step["message"]}}
            return Reply(step["status"], body, headers={"request-id": "req_test", **(step["headers"] or {})})
        sent = request.json()
        if step["kind"] == "tool":
            name = (sent.get("tool_choice") or {}).get("name") or sent["tools"][0]["name"]
            content: list[dict[str, Any]] = [
                {"type": "tool_use", "id": f"toolu_{next(_ids)}", "name": name, "input": step["input"]}
            ]
        else:
            content = [{"type": "text", "text": step["text"]}] if step["text"] else []
        return Reply(
            200,
            {
                "id": f"msg_{next(_ids)}",
                "type": "message",
                "role": "assistant",
                "model": sent.get("model", "claude-test"),
                "content": content,
                "stop_reason": step["stop_reason"],
                "stop_sequence": None,
                "usage": {"input_tokens": step["usage"][0], "output_tokens": step["usage"][1]},
            },
        )
