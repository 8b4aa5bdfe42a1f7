"""Run the README's shell blocks as written, against a test's own Temporal server and worker."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from temporalio.client import Client

from tests.cli_helpers import Completed, run_command, server_address

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"


def readme_blocks(heading: str) -> list[str]:
    """The ```bash blocks under `### heading` (up to the next heading), in order."""
    text = README.read_text()
    start = text.index(f"\n### {heading}\n")
    following = re.search(r"\n#{2,3} ", text[start + 1 :])
    section = text[start : start + 1 + following.start()] if following else text[start:]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert blocks, f"no bash block under '### {heading}'"
    return blocks


def readme_block(heading: str) -> str:
    return readme_blocks(heading)[0]


def shell_env(client: Client, task_queue: str) -> dict[str, str]:
    """`.venv/bin` first on PATH (where the README's `segments` is), and TEMPORAL_ADDRESS /
    TEMPORAL_TASK_QUEUE pointing at the test's server and worker."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TEMPORAL_ADDRESS": server_address(client),
        "TEMPORAL_TASK_QUEUE": task_queue,
    }


async def run_block(
    script: str, client: Client, task_queue: str, *, cwd: Path = ROOT, timeout: float = 180
) -> Completed:
    """`bash -euo pipefail` in `cwd` (the repository root by default), with `shell_env`."""
    return await run_command(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        f"cd {cwd}\n{script}",
        env=shell_env(client, task_queue),
        timeout=timeout,
    )
