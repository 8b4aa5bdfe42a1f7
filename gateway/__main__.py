"""`python -m gateway --port 8080`: serve the gateway with uvicorn (settings from the environment)."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from client.settings import ConnectionSettings
from gateway.app import create_app
from gateway.settings import GatewaySettings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    ConnectionSettings.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = GatewaySettings.from_env()
    except SettingsError as err:
        print(f"gateway: {err}", file=sys.stderr)
        return 2
    if not settings.tokens:
        print(
            "gateway: no tokens; set SEGMENTS_GATEWAY_TOKENS or SEGMENTS_GATEWAY_TOKENS_FILE", file=sys.stderr
        )
    from dataclasses import replace

    settings = replace(settings, connection=settings.connection.with_arguments(args))
    uvicorn.run(create_app(settings), host=args.host, port=args.port, proxy_headers=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
