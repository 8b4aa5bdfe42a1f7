"""A webhook receiver: records every request and answers with queued (or 200) responses."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any, cast

from ._server import QuietHandler, ThreadedServer


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str]


class _Handler(QuietHandler):
    def do_POST(self) -> None:
        owner = cast(WebhookReceiver, self.server.owner)  # type: ignore[attr-defined]
        body = self.read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        with owner.lock:
            owner.requests.append(RecordedRequest("POST", self.path, headers, body))
            response = owner.responses.popleft() if owner.responses else owner.default
        self.reply(response.status, response.body, response.headers)


class WebhookReceiver(ThreadedServer):
    """Receives Teams and webhook POSTs on any path; `url` is `<origin>/hook`."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.requests: list[RecordedRequest] = []
        self.responses: deque[_Response] = deque()
        self.default = _Response(200, b"1", {"Content-Type": "text/plain"})

    @property
    def url(self) -> str:
        return f"{self.origin}/hook"

    def respond_next(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Queues the answer to the next request (later ones get 200 again)."""
        with self.lock:
            self.responses.append(_Response(status, body, headers or {}))
