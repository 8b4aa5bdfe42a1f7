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


def readme_block(heading: str) -> str:
    """The first ```bash block after `### heading` (before the next heading)."""
    text = README.read_text()
    start = text.index(f"\n### {heading}\n")
    following = re.search(r"\n#{2,3} ", text[start + 1 :])
    section = text[start : start + 1 + following.start()] if following else text[start:]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None, f"no bash block under '### {heading}'"
    return block.group(1)


async def run_block(
    script: str, client: Client, task_queue: str, env: dict[str, str] | None = None, timeout: float = 180
) -> Completed:
    """`bash -euo pipefail` from the repository root, with `.venv/bin` first on PATH (where the
    README's `segments` is) and TEMPORAL_ADDRESS / TEMPORAL_TASK_QUEUE pointing at the test's server."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return await run_command(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        f"cd {ROOT}\n{script}",
        env={
            "PATH": path,
            "TEMPORAL_ADDRESS": server_address(client),
            "TEMPORAL_TASK_QUEUE": task_queue,
            **(env or {}),
        },
        timeout=timeout,
    )
