"""The frame of the LLM API stand-ins: one POST endpoint on a stand-in HTTP server, answering from a
script of queued replies (each stand-in says how a script entry becomes its wire format)."""

from __future__ import annotations

from typing import Any

from tests.standins.http_server import RecordedRequest, Reply, StandinHttpServer
from tests.started import Started


class ScriptedApi(Started):
    path = "/"

    def __init__(self) -> None:
        self.server = StandinHttpServer()
        self.server.handle(self.path, self._answer, method="POST")
        self._script: list[dict[str, Any]] = []

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests_to(self.path)

    def _answer(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError
