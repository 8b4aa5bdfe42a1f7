"""`python -m examples.standins`: serve the example stand-ins until Ctrl-C.

    python -m examples.standins [--openai-port 8701] [--api-port 8702] [--env-file PATH]

Prints the worker's environment as `export NAME=value` lines once both servers listen; with
`--env-file` it also writes them to PATH (atomically, so a script can wait for the file and
`source` it) and removes the file on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
from pathlib import Path

from examples.standins import API_PORT, HOST, OPENAI_PORT, serve_standins


async def serve(openai_port: int, api_port: int, env_file: Path | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve_standins(openai_port, api_port) as standins:
        exports = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in standins.env().items())
        print(
            f"# OpenAI-compatible API on http://{HOST}:{standins.openai_port}/v1, "
            f"tickets/ERP API on http://{HOST}:{standins.api_port}",
            flush=True,
        )
        print(exports, end="", flush=True)
        if env_file is not None:
            partial = env_file.with_name(env_file.name + ".tmp")
            partial.write_text(exports)
            os.replace(partial, env_file)
        try:
            await stop.wait()
        finally:
            if env_file is not None:
                env_file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the stand-in APIs the examples call.")
    parser.add_argument("--openai-port", type=int, default=OPENAI_PORT)
    parser.add_argument("--api-port", type=int, default=API_PORT)
    parser.add_argument("--env-file", type=Path, help="also write the worker's environment here")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.openai_port, args.api_port, args.env_file))
    except OSError as err:  # the port is taken, typically by another copy
        raise SystemExit(f"examples.standins: {err}") from None


if __name__ == "__main__":
    main()
