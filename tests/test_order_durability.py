"""The order example survives what production throws at it, against a local ERP stand-in:

- the worker is SIGKILLed while the run waits for finance, a new worker starts, and the approval
  is sent with `temporal workflow signal` (a client that is not ours): the ERP gets one order;
- the Temporal server itself is stopped and restarted on its SQLite file while the run waits;
- a rejection takes the `rejected` path, and no answer within the timeout takes `timeout`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from examples.standins import Standins, serve_standins
from tests.cli_helpers import free_port, run_command, segments_cli, start_worker_process
from tests.temporal_binaries import find_binary
from worker import build_components, running_worker
from workflows.search_attributes import ALL_KEYS, SEGMENT_PHASE

ROOT = Path(__file__).parent.parent
ORDER = json.loads((ROOT / "examples" / "order_processing.json").read_text())
ORDER_INPUT = json.loads((ROOT / "examples" / "order_processing.input.json").read_text())
APPROVE = {"task_id": "approve", "responder": "finance-anna", "decision": "approve", "comment": "ok"}


class DevServer:
    """`temporal server start-dev` on a SQLite file, as the README runs it, stoppable and restartable."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        attributes = [arg for key in ALL_KEYS for arg in ("--search-attribute", f"{key.name}=Keyword")]
        self.process = await asyncio.create_subprocess_exec(
            find_binary("temporal"),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db-filename",
            str(self.database),
            "--log-level",
            "error",
            *attributes,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                client = await Client.connect(self.address)
                await client.workflow_service.get_system_info(GetSystemInfoRequest())
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        await self.process.wait()


class WorkerProcess:
    """`python worker.py`, as a user starts it, with the stand-ins' environment."""

    def __init__(self, address: str, task_queue: str, env: dict[str, str]) -> None:
        self.address, self.task_queue, self.env = address, task_queue, env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await start_worker_process(self.address, self.task_queue, self.env)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


@pytest.fixture
async def standins() -> AsyncIterator[Standins]:
    async with serve_standins(openai_port=0, api_port=0) as running:
        yield running


async def _wait_for_phase(
    handle: WorkflowHandle[Any, Any], phase: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            status: dict[str, Any] = await handle.query("status")
            if status["phase"] == phase:
                return status
        except Exception:  # no worker yet to answer the query
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the run never reached phase {phase}")
        await asyncio.sleep(0.3)


async def _signal_with_temporal_cli(address: str, run_id: str, payload: dict[str, Any]) -> None:
    done = await run_command(
        find_binary("temporal"),
        "workflow",
        "signal",
        "--address",
        address,
        "--workflow-id",
        run_id,
        "--name",
        "respond",
        "--input",
        json.dumps(payload),
    )
    assert done.code == 0, done.stderr


async def _start_order(client: Client, queue: str) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        "SegmentWorkflow",
        {"segment": ORDER, "input": ORDER_INPUT},
        id=f"order-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )


async def test_worker_killed_while_waiting_then_approved_by_the_temporal_cli(
    tmp_path: Path, standins: Standins
) -> None:
    server = DevServer(tmp_path / "segments.db")
    await server.start()
    queue = "orders"
    first = WorkerProcess(server.address, queue, standins.env())
    second = WorkerProcess(server.address, queue, standins.env())
    try:
        await first.start()
        client = await Client.connect(server.address)
        handle = await _start_order(client, queue)
        status = await _wait_for_phase(handle, "waiting_human")
        assert [t["task_id"] for t in status["open_tasks"]] == ["approve"]
        assert (await handle.describe()).typed_search_attributes.get(SEGMENT_PHASE) == "waiting_human"

        await first.kill()
        await second.start()
        await _signal_with_temporal_cli(server.address, handle.id, APPROVE)
        result = await handle.result()
        assert result["outcome"] == "placed"
        assert result["erp_order"]["order_id"] == "PO-5001"
        assert [o["id"] for o in standins.api.orders.records] == [ORDER_INPUT["order"]["id"]]
    finally:
        await first.stop()
        await second.stop()
        await server.stop()


async def test_server_restarted_on_its_sqlite_file_while_waiting(tmp_path: Path, standins: Standins) -> None:
    server = DevServer(tmp_path / "segments.db")
    await server.start()
    queue = "orders"
    worker = WorkerProcess(server.address, queue, standins.env())
    try:
        await worker.start()
        handle = await _start_order(await Client.connect(server.address), queue)
        await _wait_for_phase(handle, "waiting_human")

        await server.stop()
        await server.start()  # same port, same SQLite file; the worker reconnects by itself
        client = await Client.connect(server.address)
        handle = client.get_workflow_handle(handle.id)
        await _wait_for_phase(handle, "waiting_human")
        await _signal_with_temporal_cli(server.address, handle.id, APPROVE)
        result = await handle.result()
        assert result["outcome"] == "placed"
        assert len(standins.api.orders.records) == 1
    finally:
        await worker.stop()
        await server.stop()


async def test_a_rejection_takes_the_rejected_path(
    client: Client, standins: Standins, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in standins.env().items():
        monkeypatch.setenv(key, value)
    queue = f"orders-{uuid.uuid4().hex[:6]}"
    async with running_worker(client, queue, build_components(plugins=[])):
        handle = await _start_order(client, queue)
        await _wait_for_phase(handle, "waiting_human")
        refused = await segments_cli(client, queue, "reject", handle.id, "approve", "--as", "mallory")
        assert refused.code == 1 and "may not answer" in refused.stderr
        done = await segments_cli(
            client, queue, "reject", handle.id, "approve", "--as", "finance-ben", "--comment", "over budget"
        )
        assert done.code == 0, done.stderr
        result = await handle.result()
    assert result["outcome"] == "rejected"
    assert result["details"] == {"by": "finance-ben", "comment": "over budget"}
    assert standins.api.orders.records == []


async def test_no_answer_within_the_timeout_takes_the_timeout_path(
    standins: Standins, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in standins.env().items():
        monkeypatch.setenv(key, value)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server")
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for k in ALL_KEYS},
            )
        )
        async with running_worker(env.client, "orders", build_components(plugins=[])):
            handle = await _start_order(env.client, "orders")
            result = await handle.result()  # the 4-hour timeout passes in skipped time
    finally:
        await env.shutdown()
    assert result["outcome"] == "expired"
    assert standins.api.orders.records == []
