"""A connection's relative `path`, and the URL it makes with the connection's base URL.

The path can never leave the base URL's scheme, host and port, nor climb above its path: a path
with a scheme, an authority (`//host`, `@host`), backslashes, `.`/`..` segments, a fragment,
control characters or any of these percent-encoded (`%2f%2f`, `%2e%2e`, even twice encoded) is
refused. Pure functions: the definition validator and the `http_action` activity share them.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_UNQUOTE_ROUNDS = 4


class PathRefused(ValueError):
    """A path that could reach outside its connection's base URL."""


def path_problem(path: str) -> str | None:
    """Why `path` is refused, or None when it stays under the base URL."""
    if len(path) > 2048:
        return "is longer than 2048 characters"
    if any(ord(c) < 0x20 or c == "\x7f" or c.isspace() for c in path):
        return "holds control characters or spaces (encode spaces as %20)"
    if "#" in path or "\\" in path:
        return "holds a fragment ('#') or a backslash"
    route = path.split("?", 1)[0]
    forms = [route]
    for _ in range(_UNQUOTE_ROUNDS):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    else:
        return "is percent-encoded too many times over"
    for form in forms:
        if any(ord(c) < 0x20 or c == "\x7f" for c in form):
            return "holds encoded control characters"
        if "\\" in form:
            return "holds a backslash"
        if "@" in form:
            return "holds '@' (a user-info trick that could name another host)"
        if "#" in form:
            return "holds a fragment ('#')"
        if _SCHEME.match(form.lstrip("/")):
            return "is an absolute URL; give a path relative to the connection's base URL"
        if form.startswith("//") or "//" in form:
            return "holds '//' (an authority trick that could name another host)"
        if any(segment in (".", "..") for segment in form.split("/")):
            return "holds a '.' or '..' segment; it may not climb out of the connection's base path"
    return None


def join_url(base_url: str, path: str) -> str:
    """`base_url` + `path` as one URL; raises PathRefused when the path is refused or the result
    is not under the base URL (scheme, host, port and path prefix)."""
    problem = path_problem(path)
    if problem is not None:
        raise PathRefused(f"path {problem}")
    base = urlsplit(base_url)
    joined = base_url.rstrip("/") + ("/" + path.lstrip("/") if path else "")
    result = urlsplit(joined)
    base_path = base.path.rstrip("/")
    same_origin = (result.scheme, result.hostname, result.port) == (base.scheme, base.hostname, base.port)
    under = result.path == base_path or result.path.startswith(base_path + "/") or not base_path
    if not same_origin or not under or result.username is not None:
        raise PathRefused("path would leave the connection's base URL")
    return joined
