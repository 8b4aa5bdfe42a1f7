"""The run page in a real browser (Debian's Chromium through Playwright), against a real gateway,
worker and Temporal server, with the order example and the local ERP stand-in."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page
from temporalio.client import Client

from client.api import SegmentsClient
from client.ui_links import new_ticket, run_page_link
from examples.standins import Standins, serve_standins
from gateway import GatewaySettings, create_app
from tests.browser import chromium
from tests.cli_helpers import run_command, server_address, start_worker_process
from tests.gateway_support import ACME, ACT_FOR, GLOBEX, TOKENS, eventually, serving
from tests.temporal_binaries import find_binary
from worker import build_components, running_worker

ROOT = Path(__file__).parent.parent
ORDER = json.loads((ROOT / "examples" / "order_processing.json").read_text())
ORDER_INPUT = json.loads((ROOT / "examples" / "order_processing.input.json").read_text())
SECRET = "run-page-link-secret-for-tests"
WAIT_MS = 60_000
RESOURCE_TIMINGS = (
    "performance.getEntriesByType('resource').map(e => [e.name.split('/').pop(), Math.round(e.duration)])"
)


@dataclass
class PageServer:
    url: str
    standins: Standins
    browser: Browser
    client: Client
    queue: str

    def link(self, run_id: str, user: str | None, tenant: str = "acme") -> str:
        return run_page_link(self.url, run_id, new_ticket(SECRET, run_id, tenant, user))

    async def start_order(self) -> str:
        async with httpx.AsyncClient(base_url=self.url, headers=ACME, timeout=30) as http:
            started = await http.post("/runs", json={"segment": ORDER, "input": ORDER_INPUT})
            assert started.status_code == 201, started.text
            run_id: str = started.json()["run_id"]
            assert await eventually(lambda: _open_tasks(http, run_id), timeout=60) == ["approve"]
        return run_id


async def _open_tasks(http: httpx.AsyncClient, run_id: str) -> list[str]:
    return [t["task_id"] for t in (await http.get(f"/runs/{run_id}/tasks")).json()["open_tasks"]]


CHILD_SEGMENT: dict[str, Any] = {
    "segment_id": "page_child",
    "version": "1",
    "steps": [
        {"step_id": "double", "type": "transform", "config": {"expression": "input.n * 2"}},
        {"step_id": "describe", "type": "transform", "config": {"expression": "'twice: ' & $string(prev)"}},
    ],
    "edges": [{"source": "double", "target": "describe"}],
}


@pytest.fixture(scope="module")
async def page_server(client: Client, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PageServer]:
    mp = pytest.MonkeyPatch()
    store = tmp_path_factory.mktemp("page-definitions")
    (store / "page_child").mkdir()
    (store / "page_child" / "1.json").write_text(json.dumps(CHILD_SEGMENT))
    mp.setenv("SEGMENTS_DEFINITIONS_DIR", str(store))
    async with serve_standins(openai_port=0, api_port=0) as standins:
        for key, value in standins.env().items():
            mp.setenv(key, value)
        queue = f"run-page-{uuid.uuid4().hex[:6]}"
        settings = GatewaySettings(tokens=TOKENS, act_for=ACT_FOR, ui_link_secret=SECRET, sse_ping_seconds=5)
        try:
            async with (
                running_worker(client, queue, build_components(plugins=[])),
                serving(create_app(settings, SegmentsClient(client, queue))) as url,
                chromium() as browser,
            ):
                yield PageServer(url, standins, browser, client, queue)
        finally:
            mp.undo()


async def _state(page: Page, step_id: str, state: str) -> None:
    await page.wait_for_selector(f'g.node[data-step="{step_id}"][data-state="{state}"]', timeout=WAIT_MS)


async def test_the_order_run_on_its_graph_live_and_approved_from_the_page(
    page_server: PageServer, tmp_path: Path
) -> None:
    run_id = await page_server.start_order()
    opened = await run_command(
        find_binary("segments"),
        *("open", run_id, "--as", "finance-anna", "--gateway", page_server.url),
        *("--address", server_address(page_server.client)),
        env={"SEGMENTS_GATEWAY_UI_LINK_SECRET": SECRET, "DISPLAY": "", "WAYLAND_DISPLAY": ""},
    )
    assert opened.code == 0, opened.stderr
    link = opened.stdout.strip()
    assert link.startswith(f"{page_server.url}/ui/runs/{run_id}#ticket=")
    assert f"Web UI: {page_server_web_ui(run_id)}" in opened.stderr
    context = await page_server.browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    response = await page.goto(link)
    assert response is not None and response.status == 200
    await page.wait_for_selector('body[data-ready="1"]', timeout=WAIT_MS)
    assert "ticket=" not in page.url  # the link's ticket became the page's cookie
    steps = await page.eval_on_selector_all("g.node", "nodes => nodes.map(n => n.dataset.step)")
    assert steps == [s["step_id"] for s in ORDER["steps"]]
    await _state(page, "validate", "done")
    await _state(page, "approve", "waiting")
    await _state(page, "out_of_stock", "skipped")
    card = page.locator('.task[data-task="approve"]')
    assert "finance-anna" in await card.locator(".assignee").inner_text()
    assert await card.locator(".deadline").count() == 1
    assert await page.locator("#web-ui").get_attribute("href") == page_server_web_ui(run_id)
    await page.click('g.node[data-step="validate"]')
    await page.wait_for_selector('#step-detail .step[data-step="validate"] pre.output', timeout=WAIT_MS)
    assert "1438" in await page.locator("#step-detail pre.output").inner_text()
    await page.screenshot(path=str(tmp_path / "run-page-waiting.png"), full_page=True)

    await card.locator('button[data-action="approve"]').click()
    await _state(page, "place", "done")  # live from the event stream, no reload
    await page.wait_for_selector('body[data-phase="completed"]', timeout=WAIT_MS)
    await _state(page, "approve", "done")
    await _state(page, "rejected", "skipped")
    assert await page.locator(".task").count() == 0
    await page.click('g.node[data-step="place"]')
    await page.wait_for_selector('#step-detail .step[data-step="place"] pre.output', timeout=WAIT_MS)
    assert "PO-" in await page.locator("#step-detail pre.output").inner_text()
    await page.screenshot(path=str(tmp_path / "run-page.png"), full_page=True)
    assert len(page_server.standins.api.orders.records) == 1
    await context.close()


def page_server_web_ui(run_id: str) -> str:
    return f"http://localhost:8233/namespaces/default/workflows/{run_id}"


async def test_an_unallowed_responder_sees_the_refusal_reason(
    page_server: PageServer, tmp_path: Path
) -> None:
    run_id = await page_server.start_order()
    context = await page_server.browser.new_context()
    page = await context.new_page()
    await page.goto(page_server.link(run_id, "mallory"))
    await page.wait_for_selector('body[data-ready="1"]', timeout=WAIT_MS)
    card = page.locator('.task[data-task="approve"]')
    await card.locator('button[data-action="approve"]').click()
    refusal = card.locator(".refusal")
    await refusal.wait_for(timeout=WAIT_MS)
    text = await refusal.inner_text()
    assert text.startswith("refused: ") and "mallory" in text, text
    await page.screenshot(path=str(tmp_path / "run-page-refused.png"))
    await _state(page, "approve", "waiting")
    await context.close()
    async with httpx.AsyncClient(base_url=page_server.url, headers=ACME, timeout=30) as http:
        done = await http.post(
            f"/runs/{run_id}/tasks/approve", json={"responder": "finance-ben", "decision": "reject"}
        )
        assert done.status_code == 200


async def test_another_tenant_gets_404_and_nobody_gets_in_without_a_credential(
    page_server: PageServer,
) -> None:
    run_id = await page_server.start_order()
    globex = await page_server.browser.new_context(extra_http_headers=GLOBEX)
    page = await globex.new_page()
    response = await page.goto(f"{page_server.url}/ui/runs/{run_id}")
    assert response is not None and response.status == 404
    await globex.close()

    async def refused(link: str) -> str:
        context = await page_server.browser.new_context()
        page = await context.new_page()
        await page.goto(link)
        await page.wait_for_selector('body[data-ready="error"]', timeout=WAIT_MS)
        text = await page.locator("#phase").inner_text()
        assert await page.locator("g.node").count() == 0
        await context.close()
        return text

    assert "segments open" in await refused(f"{page_server.url}/ui/runs/{run_id}")
    assert f"no run '{run_id}'" in await refused(page_server.link(run_id, "finance-anna", tenant="globex"))
    forged = page_server.link(run_id, "finance-anna").replace("#ticket=", "#ticket=x")
    assert "signature" in await refused(forged)
    async with httpx.AsyncClient(base_url=page_server.url, timeout=30) as anonymous:
        for path in ("/state", "/graph", "/events", "/steps/validate"):
            assert (await anonymous.get(f"/ui/runs/{run_id}{path}")).status_code == 401, path
        assert (await anonymous.get(f"/ui/runs/{run_id}/state", headers=GLOBEX)).status_code == 404

    viewer = await page_server.browser.new_context(extra_http_headers=ACME)
    page = await viewer.new_page()
    await page.goto(f"{page_server.url}/ui/runs/{run_id}")
    await page.wait_for_selector('body[data-ready="1"]', timeout=WAIT_MS)
    assert await page.locator("#user").inner_text() == "view only"
    assert await page.locator('.task[data-task="approve"] button').count() == 0
    await viewer.close()
    async with httpx.AsyncClient(base_url=page_server.url, headers=ACME, timeout=30) as http:
        cookie_less = await http.post(f"/ui/runs/{run_id}/tasks/approve", json={"decision": "approve"})
        assert cookie_less.status_code == 403  # no page header: not from the page's own script
        done = await http.post(
            f"/runs/{run_id}/tasks/approve", json={"responder": "finance-ben", "decision": "reject"}
        )
        assert done.status_code == 200


def big_segment(groups: int = 50) -> dict[str, Any]:
    """`groups` x (condition, two transforms, a merge): 200 steps for groups=50."""
    steps: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    previous = None
    for g in range(groups):
        ids = [f"check_{g}", f"left_{g}", f"right_{g}", f"merge_{g}"]
        steps.append({"step_id": ids[0], "type": "condition", "config": {"expression": f"{g} % 2 = 0"}})
        for name in ids[1:]:
            steps.append(
                {"step_id": name, "type": "transform", "name": name.title(), "config": {"expression": "1"}}
            )
        if previous:
            edges.append({"source": previous, "target": ids[0]})
        edges += [
            {"source": ids[0], "source_port": "true", "target": ids[1]},
            {"source": ids[0], "source_port": "false", "target": ids[2]},
            {"source": ids[1], "target": ids[3]},
            {"source": ids[2], "target": ids[3]},
        ]
        previous = ids[3]
    return {"segment_id": "big_graph", "version": "1", "steps": steps, "edges": edges}


async def test_a_200_step_segment_loads_and_its_load_time_is_measured(
    page_server: PageServer, client: Client, tmp_path: Path
) -> None:
    segment = big_segment()
    assert len(segment["steps"]) == 200
    # A worker of its own, in another process as in production: a run that has ended is
    # replayed by a worker for its `status`, and that must not stall the gateway's event loop.
    queue = f"run-page-big-{uuid.uuid4().hex[:6]}"
    worker = await start_worker_process(server_address(client), queue, {})
    try:
        handle = await SegmentsClient(client, queue).start(segment, {}, tenant_id="acme")
        run_id = handle.id
        await asyncio.wait_for(handle.result(), 120)
        await _measure_loads(page_server, run_id, tmp_path)
    finally:
        worker.terminate()
        await worker.wait()


async def _measure_loads(page_server: PageServer, run_id: str, tmp_path: Path) -> None:
    context = await page_server.browser.new_context()
    page = await context.new_page()
    link = page_server.link(run_id, None)
    loads = []
    for _ in range(3):
        began = time.perf_counter()
        await page.goto(link)
        await page.wait_for_selector('body[data-drawn="1"]', timeout=WAIT_MS)
        drawn = time.perf_counter() - began
        await page.wait_for_selector('body[data-ready="1"]', timeout=WAIT_MS)
        ready = time.perf_counter() - began
        requests = await page.evaluate(RESOURCE_TIMINGS)
        loads.append(
            {"graph_drawn_s": round(drawn, 3), "states_shown_s": round(ready, 3), "requests_ms": requests}
        )
        link = f"{page_server.url}/ui/runs/{run_id}"  # later loads use the session cookie
    assert await page.locator("g.node").count() == 200
    assert await page.locator('g.node[data-state="done"]').count() == 150
    assert await page.locator('g.node[data-state="skipped"]').count() == 50
    (tmp_path / "load-200-steps.json").write_text(json.dumps(loads))
    print(f"\nrun page, 200-step segment (first load, then two reloads): {loads}")
    await context.close()


async def _finished(http: httpx.AsyncClient, run_id: str) -> bool:
    return (await http.get(f"/runs/{run_id}/result")).status_code == 200


async def test_a_maps_branches_are_counted_and_listed_in_place(page_server: PageServer) -> None:
    segment = json.loads((ROOT / "examples" / "enrich_items.json").read_text())
    run_input = json.loads((ROOT / "examples" / "enrich_items.input.json").read_text())
    async with httpx.AsyncClient(base_url=page_server.url, headers=ACME, timeout=30) as http:
        started = await http.post("/runs", json={"segment": segment, "input": run_input})
        assert started.status_code == 201, started.text
        run_id = started.json()["run_id"]
        assert await eventually(lambda: _finished(http, run_id), timeout=120)
    context = await page_server.browser.new_context(extra_http_headers=ACME)
    page = await context.new_page()
    await page.goto(f"{page_server.url}/ui/runs/{run_id}")
    await page.wait_for_selector('body[data-ready="1"]', timeout=WAIT_MS)
    assert await page.locator('g.region[data-region="each_line"]').count() == 1
    for step_id in ("price", "label"):
        node = page.locator(f'g.node[data-step="{step_id}"]')
        assert await node.get_attribute("data-state") == "done"
        assert await node.get_attribute("data-visits") == str(len(run_input["lines"]))
    await page.click('g.node[data-step="price"]')
    await page.wait_for_selector('#step-detail .step[data-step="price"] .instances li', timeout=WAIT_MS)
    paths = await page.eval_on_selector_all(
        "#step-detail .instances li", "items => items.map(i => i.dataset.path)"
    )
    assert sorted(paths) == ["price[0]/", "price[1]/", "price[2]/"]
    await page.click('g.node[data-step="each_line"]')
    await page.wait_for_selector('#step-detail .step[data-step="each_line"] .branches li', timeout=WAIT_MS)
    branches = await page.eval_on_selector_all(
        "#step-detail .branches li", "items => items.map(i => i.dataset.branch)"
    )
    assert sorted(branches) == [f"{run_id}/price[{i}]" for i in range(3)]
    await context.close()


async def test_a_subworkflow_steps_run_expands_in_place(page_server: PageServer) -> None:
    segment = {
        "segment_id": "page_parent",
        "version": "1",
        "steps": [
            {"step_id": "start", "type": "transform", "config": {"expression": "{'n': 21}"}},
            {
                "step_id": "call",
                "type": "subworkflow",
                "config": {
                    "segment_ref": {"segment_id": "page_child", "version": "1"},
                    "input": "{% prev %}",
                },
            },
        ],
        "edges": [{"source": "start", "target": "call"}],
    }
    async with httpx.AsyncClient(base_url=page_server.url, headers=ACME, timeout=30) as http:
        started = await http.post("/runs", json={"segment": segment, "input": {}})
        assert started.status_code == 201, started.text
        run_id = started.json()["run_id"]
        assert await eventually(lambda: _finished(http, run_id), timeout=120)
    context = await page_server.browser.new_context(extra_http_headers=ACME)
    page = await context.new_page()
    await page.goto(f"{page_server.url}/ui/runs/{run_id}")
    await page.wait_for_selector('body[data-ready="1"]', timeout=WAIT_MS)
    assert await page.locator("g.node").count() == 2  # the child's steps are not on the parent's graph
    await _state(page, "call", "done")
    await page.click('g.node[data-step="call"]')
    run = page.locator(f'#step-detail .branches li[data-branch="{run_id}/call"]')
    await run.wait_for(timeout=WAIT_MS)
    steps = await run.locator(".substeps li").evaluate_all("items => items.map(i => i.dataset.step)")
    assert steps == ["double", "describe"]
    await context.close()
