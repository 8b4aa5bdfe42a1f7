"""A Slack Web API stand-in: `chat.postMessage` and `chat.update`, Slack's JSON replies.

Checks the bearer token like Slack does (HTTP 200 with `{"ok": false, "error":
"invalid_auth"}` when it is wrong), and can be told to fail the next call, e.g. with
`ratelimited` (HTTP 429 and `Retry-After`).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl

from ._server import QuietHandler, ThreadedServer

METHODS = {"chat.postMessage", "chat.update"}


@dataclass
class SlackCall:
    method: str
    """The API method: `chat.postMessage`..."""
    headers: dict[str, str]
    args: dict[str, Any]
    """The arguments, from a JSON or a form body."""


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None


class _Handler(QuietHandler):
    def do_POST(self) -> None:
        owner = cast(SlackStandIn, self.server.owner)  # type: ignore[attr-defined]
        method = self.path.split("?", 1)[0].removeprefix("/api/")
        raw = self.read_body()
        if "json" in (self.headers.get("Content-Type") or ""):
            args: dict[str, Any] = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode()))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with owner.lock:
            owner.calls.append(SlackCall(method, headers, args))
            failure = owner.failures.popleft() if owner.failures else None
        if method not in METHODS:
            return self._json(404, {"ok": False, "error": "unknown_method"})
        auth = headers.get("authorization", "")
        if not auth:
            return self._json(200, {"ok": False, "error": "not_authed"})
        if auth != f"Bearer {owner.token}":
            return self._json(200, {"ok": False, "error": "invalid_auth"})
        if failure is not None:
            extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return self._json(failure.status, {"ok": False, "error": failure.error}, extra)
        channel = str(args.get("channel", ""))
        if not channel:
            return self._json(200, {"ok": False, "error": "channel_not_found"})
        ts = str(args["ts"]) if method == "chat.update" else owner.next_ts()
        return self._json(
            200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text")}}
        )

    def _json(self, status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.reply(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


class SlackStandIn(ThreadedServer):
    """Point `SEGMENTS_SLACK_BASE_URL` (or `NotifySettings.slack_base_url`) at `base_url`."""

    def __init__(self, token: str) -> None:
        super().__init__(_Handler)
        self.token = token
        self.calls: list[SlackCall] = []
        self.failures: deque[_Failure] = deque()
        self._ts = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/"

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def fail_next(self, error: str, *, status: int = 200, retry_after: int | None = None) -> None:
        """The next call answers `{"ok": false, "error": error}` (`ratelimited`: use status=429)."""
        with self.lock:
            self.failures.append(_Failure(error, status, retry_after))
