"""Remote codec server for the Temporal Web UI and CLI (`temporal --codec-endpoint`).

Implements Temporal's remote codec protocol: `POST /encode` and `POST /decode` take and
return `{"payloads": [{"metadata": {k: base64}, "data": base64}]}` (the protobuf JSON
form of `Payloads`). `/{namespace}/encode` and `/{namespace}/decode` are accepted too,
for endpoints configured as `http://host:port/{namespace}`. The namespace comes from the
path or the `X-Namespace` header; when `--namespace` (or `SEGMENTS_CODEC_NAMESPACES`,
comma-separated) is given, other namespaces are refused with 403.

The browser calls this server directly, so it answers CORS preflights for the Web UI's
origin (`--web-origin`, repeatable, or `SEGMENTS_CODEC_CORS_ORIGINS`; default
http://localhost:8233, the dev server's UI). Anyone who can reach it can decrypt, so it
listens on 127.0.0.1 by default: expose it only behind an authenticating proxy.

Run: `python -m client.codec_server --port 8081` with the same `SEGMENTS_CODEC_*`
variables as the worker (see `client.codec`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from client.codec import CodecError, SegmentsCodec, codec_from_env

DEFAULT_PORT = 8081
DEFAULT_WEB_ORIGIN = "http://localhost:8233"
ENV_CORS_ORIGINS = "SEGMENTS_CODEC_CORS_ORIGINS"
ENV_NAMESPACES = "SEGMENTS_CODEC_NAMESPACES"


def _payloads_json(payloads: Payloads) -> dict[str, Any]:
    body = json_format.MessageToDict(payloads)
    body.setdefault("payloads", [])
    return body


def create_app(
    codec: SegmentsCodec,
    *,
    web_origins: Sequence[str] = (DEFAULT_WEB_ORIGIN,),
    namespaces: Sequence[str] = (),
) -> FastAPI:
    """A FastAPI app serving `codec` over the remote codec protocol."""
    app = FastAPI(title="segments codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(web_origins),
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )
    allowed = frozenset(namespaces)

    async def handle(request: Request, operation: str, namespace: str | None) -> JSONResponse:
        namespace = namespace or request.headers.get("x-namespace")
        if allowed and namespace not in allowed:
            return JSONResponse({"error": f"namespace {namespace!r} is not served here"}, status_code=403)
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
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


def _split_env(name: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, "").split(",") if v.strip()]


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
        "--namespace", action="append", help=f"serve only these namespaces (default ${ENV_NAMESPACES} or any)"
    )
    args = parser.parse_args(argv)
    try:
        codec = codec_from_env()
    except CodecError as err:
        print(f"codec-server: {err}", file=sys.stderr)
        return 2
    if codec is None:
        print("codec-server: no codec configured; set SEGMENTS_CODEC_KEYS", file=sys.stderr)
        return 2
    origins = args.web_origin or _split_env(ENV_CORS_ORIGINS) or [DEFAULT_WEB_ORIGIN]
    namespaces = args.namespace or _split_env(ENV_NAMESPACES)
    import uvicorn

    uvicorn.run(create_app(codec, web_origins=origins, namespaces=namespaces), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
