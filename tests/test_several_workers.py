"""Several `python worker.py` processes on one task queue share a run; one SIGKILLed mid-map
costs time, not items: every item completes, and each item reached the server with one
idempotency key (the same on the retry that the kill caused)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import signal
import time
import uuid
from collections import defaultdict

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from tests.cli_helpers import server_address, start_worker_process
from tests.conftest import start_segment
from tests.standins.http_server import Reply, StandinHttpServer

ITEMS = 200
WORKERS = 3


async def _pollers(client: Client, queue: str) -> set[str]:
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return {p.identity for p in response.pollers}


def _segment() -> dict[str, object]:
    return {
        "segment_id": "shared_by_workers",
        "steps": [
            {
                "step_id": "split",
                "type": "parallel_split",
                "config": {"items": "input.items", "max_concurrency": 40},
            },
            {
                "step_id": "fetch",
                "type": "http_action",
                "config": {
                    "method": "POST",
                    "url": "{% input.base %}/items/{% item %}",
                    "body": {"n": "{% item %}"},
                },
            },
            {"step_id": "join", "type": "parallel_join"},
        ],
        "edges": [{"source": "split", "target": "fetch"}, {"source": "fetch", "target": "join"}],
        "output": "{% steps.join.output %}",
    }


async def test_three_worker_processes_share_a_map_and_survive_a_kill(client: Client) -> None:
    queue = f"several-{uuid.uuid4().hex[:6]}"
    with StandinHttpServer() as server:
        server.default = Reply(200, {"ok": True}, hold=0.3)
        env = {"SEGMENTS_HTTP_ALLOW": server.origin, "SEGMENTS_PLUGINS": ""}
        workers = [await start_worker_process(server_address(client), queue, env) for _ in range(WORKERS)]
        try:
            deadline = time.monotonic() + 180  # each process imports the engine: slow on a busy machine
            while len(pollers := await _pollers(client, queue)) < WORKERS:
                assert time.monotonic() < deadline, f"only {len(pollers)} workers polling"
                await asyncio.sleep(0.3)
            handle = await start_segment(
                client, queue, _segment(), {"items": list(range(ITEMS)), "base": server.url}
            )
            await asyncio.to_thread(server.wait_for_requests, ITEMS // 3, 60)
            workers[0].send_signal(signal.SIGKILL)
            await workers[0].wait()
            result = await asyncio.wait_for(handle.result(), 180)
        finally:
            for process in workers:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        requests = list(server.requests)
    assert result["failed"] == [] and result["cancelled"] == []
    assert [b["status"] for b in result["branches"]] == [200] * ITEMS
    keys: dict[int, set[str]] = defaultdict(set)
    for request in requests:
        match = re.fullmatch(r"/items/(\d+)", request.path)
        assert match, request.path
        keys[int(match.group(1))].add(request.headers["idempotency-key"])
    assert sorted(keys) == list(range(ITEMS)), "every item reached the server"
    assert all(len(k) == 1 for k in keys.values()), "one idempotency key per item, retries included"
    # the key is the item's own (its branch path), exactly as a map of one child per item has it
    expected = hashlib.sha256(f"{handle.id}/fetch[7]/fetch#1".encode()).hexdigest()[:32]
    assert keys[7] == {expected}
    assert len({k for ks in keys.values() for k in ks}) == ITEMS
    # the run really was shared: batches ran on the killed worker and on the others
    identities: set[str] = set()
    for first in range(0, ITEMS, 2):  # 200 items: batches of two (workflows/map_batches.py)
        batch_id = f"{handle.id}/fetch[{first}-{first + 1}]"
        history = await client.get_workflow_handle(batch_id).fetch_history()
        for event in history.events:
            if event.HasField("activity_task_started_event_attributes"):
                identities.add(event.activity_task_started_event_attributes.identity)
    pids = {identity.split("@")[0] for identity in identities}
    assert str(workers[0].pid) in pids
    assert len(pids) == WORKERS
