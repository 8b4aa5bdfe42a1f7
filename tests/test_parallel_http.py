"""Parallel branches really run at the same time: three http_action branches against a local
server that holds each request, and the branches a join no longer needs really stop."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from tests.conftest import start_segment
from tests.standins.http_server import Reply, StandinHttpServer
from worker import build_components, running_worker


@pytest.fixture
async def held_server(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[StandinHttpServer, str]]:
    with StandinHttpServer() as server:
        monkeypatch.setenv("SEGMENTS_HTTP_ALLOW", server.origin)
        queue = f"par-http-{uuid.uuid4().hex[:6]}"
        async with running_worker(client, queue, build_components(plugins=[])):
            yield server, queue


def _three_branch_segment(url: str, policy: Any = "all") -> dict[str, Any]:
    fetch = [
        {
            "step_id": name,
            "type": "http_action",
            "config": {"url": f"{url}/items/{name}"},
            "retry": {"max_attempts": 1},
        }
        for name in ("a", "b", "c")
    ]
    return {
        "segment_id": "held_branches",
        "steps": [
            {"step_id": "split", "type": "parallel_split"},
            *fetch,
            {"step_id": "join", "type": "parallel_join", "config": {"policy": policy}},
        ],
        "edges": [
            *({"source": "split", "target": n} for n in "abc"),
            *({"source": n, "target": "join"} for n in "abc"),
        ],
        "output": "{% steps.join.output %}",
    }


async def test_three_http_branches_overlap_in_time(
    client: Client, held_server: tuple[StandinHttpServer, str]
) -> None:
    server, queue = held_server
    server.reply(*(Reply(body={"held": True}, hold=1.0) for _ in range(3)))
    started = time.monotonic()
    handle = await start_segment(client, queue, _three_branch_segment(server.url))
    result = await handle.result()
    elapsed = time.monotonic() - started
    requests = await asyncio.to_thread(server.wait_for_requests, 3)
    assert sorted(r.path for r in requests) == ["/items/a", "/items/b", "/items/c"]
    # every request had arrived before the first one was answered: they were held at the same time
    first_answer = min(r.answered_at for r in requests if r.answered_at is not None)
    assert max(r.received_at for r in requests) < first_answer
    assert elapsed < 2.9, f"three 1-second requests took {elapsed:.1f}s: not parallel"
    assert {name: branch["status"] for name, branch in result["branches"].items()} == {
        "a": 200,
        "b": 200,
        "c": 200,
    }


async def test_any_drops_the_requests_still_held(
    client: Client, held_server: tuple[StandinHttpServer, str]
) -> None:
    server, queue = held_server
    server.reply(Reply(body={"fast": True}), Reply(body={}, hold=30.0), Reply(body={}, hold=30.0))
    started = time.monotonic()
    handle = await start_segment(client, queue, _three_branch_segment(server.url, policy="any"))
    result = await handle.result()
    assert time.monotonic() - started < 10
    assert len(result["cancelled"]) == 2
    requests = await asyncio.to_thread(server.wait_for_requests, 3)
    held = [r for r in requests if r.answered_at is None or r.client_disconnected]
    assert len(held) == 2
    for request in held:
        # waited for in a thread: the worker shares this event loop and must keep heartbeating
        dropped = await asyncio.to_thread(server.wait_for_disconnect, request, 10)
        assert dropped, f"{request.path} was never dropped"
