"""An SMTP server (aiosmtpd) on 127.0.0.1:<ephemeral> that keeps every message it receives."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.started import Started


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Collector:
    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = cast(EmailMessage, message_from_bytes(content, policy=policy.default))
        with self.lock:
            self.messages.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 OK"


class _EphemeralController(Controller):
    """aiosmtpd's Controller pings `self.port` once started: learn the real port first."""

    def _trigger_server(self) -> None:
        server = cast(asyncio.Server, self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpStandIn(Started):
    """With `user`/`password`, it offers AUTH (over plain TCP: it is a test) and refuses a
    wrong password with 535."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.user = user
        self.password = password
        self._collector = _Collector()
        self._controller: _EphemeralController | None = None
        self.logins: list[str] = []

    @property
    def messages(self) -> list[ReceivedMail]:
        return self._collector.messages

    @property
    def port(self) -> int:
        assert self._controller is not None, "server not started"
        return int(self._controller.port)

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        self.logins.append(login)
        ok = login == self.user and auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.user is not None:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = _EphemeralController(self._collector, hostname="127.0.0.1", port=0, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
        self._controller = None
