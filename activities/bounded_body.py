"""Reading a response body within a bound, decompressed within the same bound.

httpx's own decoding (`aiter_bytes`) inflates a whole network read at once: 64 KiB of gzip can
become 64 MiB before anyone counts it. Here the raw bytes are inflated with
`zlib.decompressobj().decompress(data, max_length)`, so no more than `limit + 1` decoded bytes
ever exist. Encodings other than identity, gzip and deflate are refused (the outbound client
asks for only those two).
"""

from __future__ import annotations

import zlib

import httpx

_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class ResponseTooLarge(Exception):
    """More than `limit` decoded bytes; `seen` is how many were counted (at most `limit + 1`,
    or the declared `Content-Length`)."""

    def __init__(self, seen: int) -> None:
        super().__init__(f"larger than the limit ({seen}+ bytes seen)")
        self.seen = seen


class UndecodableBody(Exception):
    """An encoding this reader does not decode, or a corrupt compressed body."""


class _Inflater:
    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._zlib = zlib.decompressobj(_WBITS[encoding]) if encoding in _WBITS else None
        self._first = True

    def feed(self, data: bytes, room: int) -> bytes:
        """At most `room + 1` decoded bytes of `data` (one more than fits says "too large")."""
        if self._zlib is None:
            return data[: room + 1]
        try:
            out = self._zlib.decompress(data, room + 1)
        except zlib.error:
            if not (self._first and self._encoding == "deflate"):
                raise UndecodableBody(f"the {self._encoding} response body is corrupt") from None
            # Some servers send raw deflate without the zlib header, as httpx also accepts.
            self._first = False
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data, room)
        self._first = False
        return out


def _encoding(response: httpx.Response) -> str:
    value = response.headers.get("content-encoding", "identity").strip().lower() or "identity"
    if value != "identity" and value not in _WBITS:
        raise UndecodableBody(f"the response is encoded as '{value}'; only gzip and deflate are decoded")
    return value


async def read_bounded(response: httpx.Response, limit: int, *, truncate: bool) -> bytes:
    """The decoded body of a streamed response: past `limit` bytes either cut (`truncate`) or
    refused (`ResponseTooLarge`)."""
    encoding = _encoding(response)
    declared = response.headers.get("content-length", "")
    if not truncate and encoding == "identity" and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(int(declared))
    inflater = _Inflater(encoding)
    chunks: list[bytes] = []
    total = 0
    async for raw in response.aiter_raw():
        out = inflater.feed(raw, limit - total)
        total += len(out)
        if total > limit:
            if truncate:
                chunks.append(out[: len(out) - (total - limit)])
                break
            raise ResponseTooLarge(total)
        chunks.append(out)
    return b"".join(chunks)
