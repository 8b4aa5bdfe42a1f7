"""Remote codec server for the Temporal Web UI and CLI (`temporal --codec-endpoint`).

Implements Temporal's remote codec protocol: `POST /decode` (and `POST /encode`, off unless
`--allow-encode`) take and return `{"payloads": [{"metadata": {k: base64}, "data": base64}]}`
(the protobuf JSON form of `Payloads`). `/{namespace}/decode` is accepted too, for endpoints
configured as `http://host:port/{namespace}`.

Anyone who can call it can decrypt, so every request must carry `Authorization: Bearer <token>`
with a token of `SEGMENTS_CODEC_SERVER_TOKENS` (`token=namespace`, several namespaces joined
by `|`, `*` for any; e.g. `tok1=prod,tok2=staging|dev`). The *token* says which namespaces it
may decode: a namespace declared in the path or `X-Namespace` outside the token's is refused
(403), and a token of one namespace needs no declaration. The CLI sends the token with
`--codec-auth "Bearer <token>"`; the Web UI forwards its user's `Authorization` header when
`TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true`. For a laptop, `--no-auth` serves without tokens, and
only on a loopback interface.

The `Host` header must be one of `--allowed-host` (default `localhost` and `127.0.0.1`):
a web page cannot reach the server through a DNS name that it rebinds to 127.0.0.1. Request
bodies over 4 MiB are refused (413). The browser calls this server directly, so it answers
CORS preflights for the Web UI's origin (`--web-origin`, repeatable, or
`SEGMENTS_CODEC_CORS_ORIGINS`; default http://localhost:8233, the dev server's UI).

Run: `python -m client.codec_server --port 8081` with the same `SEGMENTS_CODEC_*`
variables as the worker (see `client.codec`).
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from client.codec import CodecError, SegmentsCodec, codec_from_env

DEFAULT_PORT = 8081
DEFAULT_WEB_ORIGIN = "http://localhost:8233"
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1")
MAX_BODY_BYTES = 4 * 1024 * 1024
ENV_CORS_ORIGINS = "SEGMENTS_CODEC_CORS_ORIGINS"
ENV_TOKENS = "SEGMENTS_CODEC_SERVER_TOKENS"
ENV_ALLOWED_HOSTS = "SEGMENTS_CODEC_SERVER_ALLOWED_HOSTS"
ANY_NAMESPACE = "*"


def parse_tokens(text: str) -> dict[str, frozenset[str]]:
    """`tok1=prod,tok2=staging|dev,tok3=*` -> token -> the namespaces it may decode."""
    tokens: dict[str, frozenset[str]] = {}
    for item in (part.strip() for part in text.replace("\n", ",").split(",")):
        if not item:
            continue
        token, sep, namespaces = item.partition("=")
        names = frozenset(n.strip() for n in namespaces.split("|") if n.strip())
        if not sep or not token.strip() or not names:
            raise ValueError(f"{ENV_TOKENS}: an entry is not of the form token=namespace[|namespace...]")
        tokens[token.strip()] = names
    return tokens


def _payloads_json(payloads: Payloads) -> dict[str, Any]:
    body = json_format.MessageToDict(payloads)
    body.setdefault("payloads", [])
    return body


def create_app(
    codec: SegmentsCodec,
    *,
    tokens: Mapping[str, frozenset[str]] | None = None,
    web_origins: Sequence[str] = (DEFAULT_WEB_ORIGIN,),
    allowed_hosts: Sequence[str] = DEFAULT_ALLOWED_HOSTS,
    allow_encode: bool = False,
    no_auth: bool = False,
) -> FastAPI:
    """A FastAPI app serving `codec` over the remote codec protocol to holders of `tokens`
    (token -> namespaces); `no_auth` serves anyone (only for a loopback-bound server)."""
    if not tokens and not no_auth:
        raise ValueError(f"the codec server needs {ENV_TOKENS} (or --no-auth on a loopback interface)")
    known = dict(tokens or {})
    app = FastAPI(title="segments codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(web_origins),
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))

    def refusal(request: Request, namespace: str | None) -> JSONResponse | None:
        """Why this caller may not use the codec for `namespace`, or None."""
        if no_auth:
            return None
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        granted: frozenset[str] | None = None
        if scheme.lower() == "bearer" and given:
            for token, namespaces in known.items():
                if hmac.compare_digest(token.encode(), given.strip().encode()):
                    granted = namespaces
        if granted is None:
            return JSONResponse(
                {"error": "a valid bearer token is required"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if ANY_NAMESPACE in granted:
            return None
        if namespace is None and len(granted) == 1:
            return None
        if namespace is None or namespace not in granted:
            return JSONResponse({"error": f"this token may not decode namespace {namespace!r}"}, 403)
        return None

    async def handle(request: Request, operation: str, namespace: str | None) -> JSONResponse:
        namespace = namespace or request.headers.get("x-namespace")
        refused = refusal(request, namespace)
        if refused is not None:
            return refused
        if operation == "encode" and not allow_encode:
            return JSONResponse({"error": "/encode is off on this server (--allow-encode)"}, status_code=403)
        body = await _bounded_body(request)
        if body is None:
            return JSONResponse({"error": f"the body is over {MAX_BODY_BYTES} bytes"}, status_code=413)
        try:
            payloads = json_format.Parse(body, Payloads())
        except json_format.ParseError as err:
            return JSONResponse({"error": f"body is not a Payloads JSON object: {err}"}, status_code=400)
        try:
            if operation == "encode":
                result = await codec.encode(payloads.payloads)
            else:
                result = await codec.decode(payloads.payloads)
        except CodecError as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        return JSONResponse(_payloads_json(Payloads(payloads=result)))

    @app.post("/encode")
    async def encode(request: Request) -> JSONResponse:
        return await handle(request, "encode", None)

    @app.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        return await handle(request, "decode", None)

    @app.post("/{namespace}/encode")
    async def encode_ns(namespace: str, request: Request) -> JSONResponse:
        return await handle(request, "encode", namespace)

    @app.post("/{namespace}/decode")
    async def decode_ns(namespace: str, request: Request) -> JSONResponse:
        return await handle(request, "decode", namespace)

    return app


async def _bounded_body(request: Request) -> bytes | None:
    """The request body, or None past `MAX_BODY_BYTES` (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _split_env(name: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, "").split(",") if v.strip()]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the codec server with uvicorn; returns the exit status."""
    parser = argparse.ArgumentParser(prog="segments codec-server", description="Temporal remote codec server")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--web-origin",
        action="append",
        help=f"origin allowed by CORS, repeatable (default ${ENV_CORS_ORIGINS} or {DEFAULT_WEB_ORIGIN})",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        help=f"accepted Host header, repeatable (default ${ENV_ALLOWED_HOSTS} or localhost, 127.0.0.1)",
    )
    parser.add_argument("--allow-encode", action="store_true", help="serve /encode too (off by default)")
    parser.add_argument(
        "--no-auth", action="store_true", help=f"serve without {ENV_TOKENS} (only on a loopback --host)"
    )
    args = parser.parse_args(argv)
    try:
        codec = codec_from_env()
        tokens = parse_tokens(os.environ.get(ENV_TOKENS, ""))
    except (CodecError, ValueError) as err:
        print(f"codec-server: {err}", file=sys.stderr)
        return 2
    if codec is None:
        print("codec-server: no codec configured; set SEGMENTS_CODEC_KEYS", file=sys.stderr)
        return 2
    if not tokens and not args.no_auth:
        print(
            f"codec-server: set {ENV_TOKENS} (token=namespace,...), or --no-auth on 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    if args.no_auth and not _is_loopback(args.host):
        print("codec-server: --no-auth is only for a loopback --host such as 127.0.0.1", file=sys.stderr)
        return 2
    origins = args.web_origin or _split_env(ENV_CORS_ORIGINS) or [DEFAULT_WEB_ORIGIN]
    hosts = args.allowed_host or _split_env(ENV_ALLOWED_HOSTS) or list(DEFAULT_ALLOWED_HOSTS)
    app = create_app(
        codec,
        tokens=tokens,
        web_origins=origins,
        allowed_hosts=hosts,
        allow_encode=args.allow_encode,
        no_auth=args.no_auth,
    )
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
