"""The gateway takes llmteam exports unchanged: validation at the export's paths, runs started from
them (idempotently, by the export's own hash), and `team` refused by name."""

from __future__ import annotations

import uuid

import httpx

from tests.gateway_support import (
    ACME,
    Gateway,
    eventually,
    gateway_fixture,  # noqa: F401  (the `gateway` fixture)
)
from tests.llmteam_corpus_support import CORPUS, load


async def test_llmteam_exports_over_http(gateway: Gateway) -> None:
    export = load(CORPUS / "v2.3" / "condition.json")
    async with gateway.http(ACME) as http:
        valid = await http.post("/segments/validate", json=export)
        assert valid.status_code == 200 and valid.json()["valid"] is True
        team = await http.post("/segments/validate", json=load(CORPUS / "v5.3" / "team.json"))
        assert team.json()["valid"] is False
        assert [p["path"] for p in team.json()["problems"]] == ["steps[0].type"]
        key = {"Idempotency-Key": f"llmteam-{uuid.uuid4()}"}
        first = await http.post("/runs", json={"segment": export, "input": {"amount": 500}}, headers=key)
        assert first.status_code == 201, first.text
        again = await http.post("/runs", json={"segment": export, "input": {"amount": 500}}, headers=key)
        assert again.status_code == 200 and again.json()["run_id"] == first.json()["run_id"]
        run_id = first.json()["run_id"]

        async def finished() -> httpx.Response | None:
            response = await http.get(f"/runs/{run_id}/result")
            return response if response.status_code == 200 else None

        done = await eventually(finished, timeout=30)
        assert done is not None
        assert done.json()["result"] == {"output": {"amount": 500, "approved": None}}
