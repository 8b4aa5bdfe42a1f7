"""`segments graph FILE` (a definition as Mermaid) and `segments open RUN_ID` (the run page link)."""

from __future__ import annotations

import os
import sys
import webbrowser
from pathlib import Path
from typing import Any

from client.ui_links import DEFAULT_LINK_SECONDS, LINK_SECRET_VARIABLE, new_ticket, run_page_link
from segments.mermaid import CannotDraw, draw_any

GATEWAY_URL_VARIABLE = "SEGMENTS_GATEWAY_URL"
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080"


class GraphError(Exception):
    """A message for the user, and the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def mermaid_of(definition: Any, source: str) -> str:
    try:
        return draw_any(definition)[1]
    except CannotDraw as err:
        raise GraphError(f"{source}: {err}", 1) from None


def write_graph(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def has_browser() -> bool:
    """A graphical browser can be opened: macOS, Windows, or a display. Never a console browser,
    which would take over the terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def page_link(
    run_id: str, tenant: str | None, user: str | None, gateway_url: str | None, minutes: int
) -> str:
    secret = os.environ.get(LINK_SECRET_VARIABLE)
    if not secret:
        raise GraphError(
            f"{LINK_SECRET_VARIABLE} is not set; give the CLI the same link secret as the gateway", 2
        )
    url = gateway_url or os.environ.get(GATEWAY_URL_VARIABLE) or DEFAULT_GATEWAY_URL
    seconds = minutes * 60 if minutes > 0 else DEFAULT_LINK_SECONDS
    return run_page_link(url, run_id, new_ticket(secret, run_id, tenant, user, seconds))


def open_link(link: str, browser: bool) -> None:
    print(link)
    if browser and has_browser():
        webbrowser.open(link)
