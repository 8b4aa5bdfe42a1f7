"""Schemathesis against the gateway's own OpenAPI description: no request makes it answer 5xx."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.gateway_support import Gateway, gateway_fixture  # noqa: F401  (the `gateway` fixture)

ST = Path(sys.executable).parent / "st"


async def _fuzz(gateway: Gateway, token: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(ST),
        "run",
        f"{gateway.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "15",
        "--seed",
        "1",
        "--request-timeout",
        "20",
        "--header",
        f"Authorization: Bearer {token}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    return process.returncode or 0, output.decode(errors="replace")


async def test_fuzzing_finds_no_server_error(gateway: Gateway) -> None:
    code, output = await _fuzz(gateway, "tok-acme")
    assert code == 0, output[-4000:]
    assert " passed" in output  # schemathesis exits non-zero on any 5xx; this checks it ran at all
