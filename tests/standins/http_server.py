"""A real, scriptable HTTP server on 127.0.0.1 for tests: the outside world of `http_action`.

    with StandinHttpServer() as server:
        server.reply(Reply(500), Reply(200, {"ok": True}), path="/orders")
        ... call server.url + "/orders" ...
        assert [r.headers["idempotency-key"] for r in server.requests] == [...]

- replies are queued per path (and optionally method), else per server, else `default`;
  a `handler` may compute a reply from the request instead;
- every request is recorded with its headers, body and monotonic timestamps;
- `Reply(hold=5)` keeps the request open for 5 s before answering and notices when the
  client gives up (`RecordedRequest.client_disconnected`, `disconnected_at`): the test of
  a cancelled step can check that the remote side saw the request aborted;
- `Reply(chunked=True)` streams the body without a Content-Length.

Stdlib only (`ThreadingHTTPServer` in a thread), so it works with any event loop.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    """bytes and str are sent as they are; any other value (dict, list, number...) as JSON."""
    headers: dict[str, str] = field(default_factory=dict)
    hold: float = 0.0
    """Seconds to keep the request open before answering; stops early if the client hangs up."""
    chunked: bool = False
    """Send the body with Transfer-Encoding: chunked (no Content-Length)."""

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode(), headers


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Lower-case names; repeated headers joined with ', '."""
    body: bytes
    received_at: float
    """time.monotonic() when the request (headers and body) had arrived."""
    answered_at: float | None = None
    client_disconnected: bool = False
    disconnected_at: float | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


Handler = Callable[[RecordedRequest], Reply]


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-request is what some tests do on purpose: not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StandinHttpServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.default = Reply(200, {"ok": True})
        self.requests: list[RecordedRequest] = []
        self._queues: dict[tuple[str | None, str | None], deque[Reply]] = {}
        self._handlers: dict[tuple[str | None, str], Handler] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer((host, 0), _make_handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> StandinHttpServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StandinHttpServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        """`host:port`, e.g. for an egress allow-list entry that opens this server only."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.origin}"

    # -- scripting -------------------------------------------------------------------------

    def reply(self, *replies: Reply, path: str | None = None, method: str | None = None) -> None:
        """Queue replies, used once each in order: for `path` (and `method`), or for any request."""
        with self._lock:
            self._queues.setdefault((method, path), deque()).extend(replies)

    def handle(self, path: str, handler: Handler, method: str | None = None) -> None:
        """Answer every request to `path` (when no queued reply is left) with `handler(request)`."""
        with self._lock:
            self._handlers[(method, path)] = handler

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise TimeoutError(f"{len(self.requests)} requests arrived, {count} expected")

    def wait_for_disconnect(self, request: RecordedRequest, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not request.client_disconnected:
            time.sleep(0.01)
        return request.client_disconnected

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            keys: tuple[tuple[str | None, str | None], ...] = (
                (request.method, request.path),
                (None, request.path),
            )
            for key in keys:
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            handler = self._handlers.get((request.method, request.path)) or self._handlers.get(
                (None, request.path)
            )
            if handler is None:
                for fallback in ((request.method, None), (None, None)):
                    queue = self._queues.get(fallback)
                    if queue:
                        return queue.popleft()
        return handler(request) if handler is not None else self.default


def _make_handler(server: StandinHttpServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            request = RecordedRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=headers,
                body=self._read_body(headers),
                received_at=time.monotonic(),
            )
            reply = server._next_reply(request)
            if reply.hold and self._hold(reply.hold):
                request.client_disconnected = True
                request.disconnected_at = time.monotonic()
                self.close_connection = True
                return
            try:
                self._write(reply)
            except (BrokenPipeError, ConnectionResetError):
                request.client_disconnected = True
                request.disconnected_at = time.monotonic()
                self.close_connection = True
            request.answered_at = time.monotonic()

        def _read_body(self, headers: dict[str, str]) -> bytes:
            if headers.get("transfer-encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        def _hold(self, seconds: float) -> bool:
            """Wait `seconds`; True as soon as the client closes its end."""
            deadline = time.monotonic() + seconds
            conn: socket.socket = self.connection
            while (left := deadline - time.monotonic()) > 0:
                readable, _, _ = select.select([conn], [], [], min(left, 0.05))
                if readable:
                    try:
                        if conn.recv(1, socket.MSG_PEEK) == b"":
                            return True
                    except (ConnectionResetError, OSError):
                        return True
                    time.sleep(0.05)
            return False

        def _write(self, reply: Reply) -> None:
            body, headers = reply.encoded()
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            if reply.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if not reply.chunked:
                self.wfile.write(body)
                return
            for start in range(0, len(body), 16384):
                piece = body[start : start + 16384]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    return _Handler
