"""Run our CLI and the `temporal` CLI as real subprocesses, without blocking the test's event loop
(the session's worker runs on that loop, so a blocking call would stall the very run it waits for)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from tests.temporal_binaries import find_binary


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str


def server_address(client: Client) -> str:
    return client.service_client.config.target_host


async def run_command(
    *argv: str, env: dict[str, str] | None = None, timeout: float = 60, cwd: Path | None = None
) -> Completed:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Completed(process.returncode, stdout.decode(), stderr.decode())


async def segments_cli(client: Client, task_queue: str, *args: str) -> Completed:
    return await run_command(
        find_binary("segments"), "--address", server_address(client), "--task-queue", task_queue, *args
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, for a server a test starts as a subprocess."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ROOT = Path(__file__).parent.parent


async def start_worker_process(
    address: str, task_queue: str, env: dict[str, str]
) -> asyncio.subprocess.Process:
    """`python worker.py`, as a user starts it from the repository root, with extra environment."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "worker.py"),
        "--address",
        address,
        "--task-queue",
        task_queue,
        env={**os.environ, **env},
        cwd=str(ROOT),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
