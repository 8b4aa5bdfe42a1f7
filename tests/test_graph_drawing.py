"""Definitions drawn: Mermaid text (CLI and gateway) and the run page's layered layout."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from client.ui_links import BadTicket, Ticket, new_ticket, sign_ticket, verify_ticket
from segments.dialects.llmteam import translate
from segments.layout import layout
from segments.mermaid import to_mermaid
from segments.models import SegmentDefinition
from tests.cli_helpers import run_command
from tests.gateway_support import (
    ACME,
    APPROVAL_SEGMENT,
    BIG_ORDER,
    GLOBEX,
    Gateway,
    gateway_fixture,  # noqa: F401  (the `gateway` fixture)
)
from tests.llmteam_corpus_support import CORPUS
from tests.temporal_binaries import find_binary
from tests.test_run_page import big_segment

ROOT = Path(__file__).parent.parent
ORDER = json.loads((ROOT / "examples" / "order_processing.json").read_text())
ENRICH = json.loads((ROOT / "examples" / "enrich_items.json").read_text())
LLMTEAM_EXPORT = CORPUS / "v5.3" / "parallel.json"


def translation_drawn(path: Path) -> str:
    translated = translate(json.loads(path.read_text())).definition
    assert translated is not None
    return to_mermaid(SegmentDefinition.from_dict(translated))


NESTED: dict[str, Any] = {
    "segment_id": "nested",
    "steps": [
        {"step_id": "outer", "type": "parallel_split"},
        {"step_id": "a", "type": "transform", "name": 'Say "hi" <b>|x|</b>', "config": {"expression": "1"}},
        {"step_id": "inner", "type": "parallel_split", "config": {"items": "input.xs"}},
        {
            "step_id": "each",
            "type": "http_action",
            "config": {"method": "GET", "url": "https://x.example"},
            "on_error": "route",
        },
        {"step_id": "fix", "type": "transform", "config": {"expression": "0"}},
        {"step_id": "inner_join", "type": "parallel_join"},
        {"step_id": "b", "type": "transform", "config": {"expression": "2"}},
        {"step_id": "outer_join", "type": "parallel_join"},
    ],
    "edges": [
        {"source": "outer", "target": "a"},
        {"source": "outer", "target": "b"},
        {"source": "a", "target": "inner"},
        {"source": "inner", "target": "each"},
        {"source": "each", "target": "inner_join"},
        {"source": "each", "source_port": "error", "target": "fix"},
        {"source": "fix", "target": "inner_join"},
        {"source": "inner_join", "target": "outer_join"},
        {"source": "b", "target": "outer_join"},
    ],
}


def test_order_example_as_mermaid_names_steps_types_and_ports() -> None:
    text = to_mermaid(SegmentDefinition.from_dict(ORDER))
    assert text.startswith("flowchart TD\n")
    assert 's_validate["Validate<br/><i>transform</i>"]' in text
    assert 's_in_stock{"In stock?<br/><i>condition</i>"}:::condition' in text
    assert 's_approve(["Finance approval<br/><i>human_task</i>"]):::human' in text
    assert "start --> s_validate" in text
    assert 's_approve -->|"approved"| s_place' in text
    assert 's_approve -->|"timeout"| s_expired' in text
    assert "s_validate --> s_inventory" in text  # the default port is not labelled
    assert len(re.findall(r"-->", text)) == len(ORDER["edges"]) + 1


def test_maps_and_branches_are_subgraphs_nested_as_in_the_definition() -> None:
    text = to_mermaid(SegmentDefinition.from_dict(ENRICH))
    assert 'subgraph s_each_line__region["map: one branch per item of input.lines"]' in text
    assert 's_each_line ==>|"each item"| s_price' in text
    lines = to_mermaid(SegmentDefinition.from_dict(NESTED)).splitlines()
    outer = lines.index('  subgraph s_outer__region["parallel: 2 branches"]')
    inner = lines.index('    subgraph s_inner__region["map: one branch per item of input.xs"]')
    assert outer < inner
    assert '      s_each["each<br/><i>http_action</i>"]' in lines  # inside both
    assert '  s_each -.->|"error"| s_fix' in lines
    assert '    s_a["Say #quot;hi#quot; #lt;b#gt;#124;x#124;#lt;/b#gt;<br/><i>transform</i>"]' in lines


def test_layout_places_every_step_without_overlaps_and_marks_loops() -> None:
    looped = json.loads(json.dumps(ORDER))
    looped["edges"].append({"source": "rejected", "target": "validate"})
    for definition in (ORDER, ENRICH, NESTED, looped, big_segment()):
        drawn = layout(SegmentDefinition.from_dict(definition))
        assert [n.id for n in drawn.nodes] == [s["step_id"] for s in definition["steps"]]
        boxes = [(n.x, n.y, n.x + n.w, n.y + n.h) for n in drawn.nodes]
        for i, a in enumerate(boxes):
            assert a[0] >= 0 and a[2] <= drawn.width and a[3] <= drawn.height
            for b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
        assert len(drawn.edges) == len(definition["edges"])
    back = [e for e in layout(SegmentDefinition.from_dict(looped)).edges if e.back]
    assert [(e.source, e.target) for e in back] == [("rejected", "validate")]
    regions = layout(SegmentDefinition.from_dict(NESTED)).regions
    assert {r.id for r in regions} == {"outer", "inner"}


def test_page_tickets_are_signed_scoped_and_expire() -> None:
    ticket = new_ticket("secret", "run-1", "acme", "anna")
    assert verify_ticket("secret", ticket) == Ticket(
        "run-1", "acme", "anna", verify_ticket("secret", ticket).expires
    )
    with pytest.raises(BadTicket, match="signature"):
        verify_ticket("other secret", ticket)
    _payload, signature = ticket.split(".")
    forged = sign_ticket("guess", Ticket("run-1", "globex", "anna", 2**40)).split(".")[0] + "." + signature
    with pytest.raises(BadTicket):
        verify_ticket("secret", forged)
    old = sign_ticket("secret", Ticket("run-1", "acme", None, 1000))
    with pytest.raises(BadTicket, match="expired"):
        verify_ticket("secret", old)


async def test_segments_graph_prints_the_diagram(tmp_path: Path) -> None:
    done = await run_command(
        find_binary("segments"), "graph", str(ROOT / "examples" / "order_processing.json")
    )
    assert done.code == 0, done.stderr
    assert done.stdout == to_mermaid(SegmentDefinition.from_dict(ORDER))
    out = tmp_path / "order.mmd"
    done = await run_command(
        find_binary("segments"), "graph", str(ROOT / "examples" / "enrich_items.json"), "--out", str(out)
    )
    assert done.code == 0 and "subgraph" in out.read_text()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"segment_id": "x", "steps": [{"type": "transform"}], "edges": []}))
    done = await run_command(find_binary("segments"), "graph", str(bad))
    assert done.code == 1 and "steps.0.step_id" in done.stderr


async def test_gateway_draws_a_posted_definition_and_a_runs_pinned_one(
    gateway: Gateway, client: Client
) -> None:
    async with gateway.http(ACME) as http:
        drawn = await http.post("/segments/graph", json=ORDER)
        assert drawn.status_code == 200, drawn.text
        assert drawn.json() == {
            "segment_id": "order_processing",
            "mermaid": to_mermaid(SegmentDefinition.from_dict(ORDER)),
        }
        bad = await http.post("/segments/graph", json={"steps": []})
        assert bad.status_code == 422 and "segment_id" in bad.json()["detail"]
        started = await http.post("/runs", json={"segment": APPROVAL_SEGMENT, "input": BIG_ORDER})
        run_id = started.json()["run_id"]
        pinned = await http.get(f"/runs/{run_id}/graph")
        assert pinned.status_code == 200
        assert pinned.json()["mermaid"] == to_mermaid(SegmentDefinition.from_dict(APPROVAL_SEGMENT))
        await http.post(f"/runs/{run_id}/cancel")
    async with gateway.http(GLOBEX) as other:
        assert (await other.get(f"/runs/{run_id}/graph")).status_code == 404
    async with httpx.AsyncClient(base_url=gateway.url) as anonymous:
        assert (await anonymous.post("/segments/graph", json=ORDER)).status_code == 401


async def test_an_llmteam_export_draws_like_its_translation(gateway: Gateway) -> None:
    expected = translation_drawn(LLMTEAM_EXPORT)
    assert "subgraph" in expected  # its parallel steps are a region
    done = await run_command(find_binary("segments"), "graph", str(LLMTEAM_EXPORT))
    assert done.code == 0, done.stderr
    assert done.stdout == expected
    async with gateway.http(ACME) as http:
        drawn = await http.post("/segments/graph", json=json.loads(LLMTEAM_EXPORT.read_text()))
        assert drawn.status_code == 200, drawn.text
        assert drawn.json()["mermaid"] == expected
        team = await http.post(
            "/segments/graph", json=json.loads((CORPUS / "v5.3" / "team.json").read_text())
        )
        assert team.status_code == 422 and "`team`" in team.json()["detail"]
