"""The outside world of the llmteam corpus, answering as llmteam's mocks did when it was recorded.

tests/llmteam_corpus/world.json holds what scripts/llmteam_corpus_build.py gave llmteam's
`MockLLMProvider` (answers chosen by the first regex that matches the prompt, case-insensitive)
and `MockHTTPClient` (a body per method and path). Here the same answers come from real servers
on 127.0.0.1: an OpenAI-compatible API reached through the official SDK, and one HTTP API that
every connection of the corpus (`crm`, `erp`, `default`) points at. `env()` is the worker's
settings: connections and model refs by the names the exports use.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from examples.standins.openai_api import completion_body
from tests.standins.http_server import RecordedRequest, Reply, StandinHttpServer
from tests.standins.scripted_api import ScriptedApi
from tests.started import Started

WORLD = json.loads((Path(__file__).parent.parent / "llmteam_corpus" / "world.json").read_text())


class PatternLlm(ScriptedApi):
    """`POST /v1/chat/completions` answering like llmteam's MockLLMProvider(patterns=...)."""

    path = "/v1/chat/completions"

    def _answer(self, request: RecordedRequest) -> Reply:
        payload = request.json()
        prompt = next(m["content"] for m in reversed(payload["messages"]) if m["role"] == "user")
        text = next(
            (answer for pattern, answer in WORLD["llm_patterns"].items() if re.search(pattern, prompt, re.I)),
            "Mock response",
        )
        return Reply(200, completion_body(payload.get("model", "gpt-test"), content=text, usage=(9, 5)))

    def prompts(self) -> list[str]:
        return [
            next(m["content"] for m in reversed(r.json()["messages"]) if m["role"] == "user")
            for r in self.requests
        ]


def _fixed(body: Any) -> Any:
    def answer(_request: RecordedRequest) -> Reply:
        return Reply(200, body)

    return answer


class LlmteamWorld(Started):
    def __init__(self) -> None:
        self.llm = PatternLlm()
        self.api = StandinHttpServer()
        for entry in WORLD["http_responses"]:
            self.api.handle(entry["path"], _fixed(entry["body"]), method=entry["method"])

    def start(self) -> None:
        self.llm.start()
        self.api.start()

    def stop(self) -> None:
        self.llm.stop()
        self.api.stop()

    def env(self) -> dict[str, str]:
        settings = {
            "OPENAI_BASE_URL": f"{self.llm.server.url}/v1",
            "OPENAI_API_KEY": "sk-llmteam-world",
            "SEGMENTS_HTTP_ALLOW": "127.0.0.1",
        }
        for ref in WORLD["llm_refs"]:
            settings[f"SEGMENTS_MODEL_{ref.upper()}"] = "openai:gpt-test"
        for ref in WORLD["client_refs"]:
            settings[f"SEGMENTS_CONNECTION_{ref.upper()}"] = json.dumps({"base_url": self.api.url})
        return settings

    def bodies(self, path: str) -> list[Any]:
        return [r.json() for r in self.api.requests_to(path)]
