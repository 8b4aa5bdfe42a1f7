"""The HTTP gateway on a real uvicorn against the real Temporal dev server: catalog, validation,
runs (idempotent start, status, result, control), human tasks, tenants, limits."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx

from tests.gateway_support import (
    ACME,
    APPROVAL_SEGMENT,
    BIG_ORDER,
    GLOBEX,
    SMALL_ORDER,
    Gateway,
    eventually,
    gateway_fixture,  # noqa: F401  (the `gateway` fixture)
)


async def _start(http: httpx.AsyncClient, run_input: dict[str, Any], **extra: Any) -> str:
    response = await http.post("/runs", json={"segment": APPROVAL_SEGMENT, "input": run_input, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


async def _phase(http: httpx.AsyncClient, run_id: str) -> str:
    response = await http.get(f"/runs/{run_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["phase"])


async def test_catalog_schema_and_validation(gateway: Gateway) -> None:
    async with gateway.http(ACME) as http:
        catalog = (await http.get("/catalog")).json()
        assert {"transform", "condition", "human_task"} <= {t["type_id"] for t in catalog["step_types"]}
        schema = (await http.get("/segments/schema")).json()
        assert "steps" in schema["properties"]
        ok = await http.post("/segments/validate", json=APPROVAL_SEGMENT)
        assert ok.status_code == 200 and ok.json() == {"valid": True, "problems": []}
        broken = copy.deepcopy(APPROVAL_SEGMENT)
        broken["steps"][1]["config"]["expression"] = "steps.totl.output > ("
        broken["edges"].append({"source": "big", "source_port": "yes", "target": "place"})
        bad = await http.post("/segments/validate", json=broken)
        assert bad.status_code == 200 and bad.json()["valid"] is False
        paths = [p["path"] for p in bad.json()["problems"]]
        assert "steps[1].config.expression" in paths and "edges[4].source_port" in paths
    async with gateway.http() as anonymous:
        assert (await anonymous.get("/catalog")).status_code == 401
        assert (await anonymous.post("/segments/validate", json={})).status_code == 401
    async with gateway.http({"Authorization": "Bearer nope"}) as wrong:
        assert (await wrong.get("/segments/schema")).status_code == 401


async def test_start_status_result_and_list(gateway: Gateway) -> None:
    async with gateway.http(ACME) as http:
        run_id = await _start(http, SMALL_ORDER)
        result = await eventually(lambda: http.get(f"/runs/{run_id}/result"), timeout=20)
        done = await eventually(
            lambda: _until(http, f"/runs/{run_id}/result", lambda r: r.status_code == 200), timeout=20
        )
        assert result is not None
        assert done.json() == {
            "run_id": run_id,
            "phase": "completed",
            "result": {"placed": True, "total": 5},
            "error": None,
        }
        status = (await http.get(f"/runs/{run_id}")).json()
        assert status["phase"] == "completed" and status["temporal_status"] == "completed"
        assert [s["step_id"] for s in status["steps_done"]] == ["total", "big", "place"]
        listed = await eventually(
            lambda: _until(
                http,
                "/runs?segment=gw_approval&phase=completed",
                lambda r: run_id in [x["run_id"] for x in r.json()["runs"]],
            )
        )
        assert listed is not None


async def _until(http: httpx.AsyncClient, path: str, ok: Any) -> httpx.Response | None:
    response = await http.get(path)
    return response if ok(response) else None


async def test_idempotency_key_starts_one_run(gateway: Gateway) -> None:
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    body = {"segment": APPROVAL_SEGMENT, "input": SMALL_ORDER}
    async with gateway.http(ACME) as http:
        first = await http.post("/runs", json=body, headers=key)
        again = await http.post("/runs", json=body, headers=key)
        assert first.status_code == 201 and first.json()["created"] is True
        assert again.status_code == 200 and again.json()["created"] is False
        assert again.json()["run_id"] == first.json()["run_id"]
        other = await http.post("/runs", json=body, headers={"Idempotency-Key": f"order-{uuid.uuid4()}"})
        assert other.status_code == 201 and other.json()["run_id"] != first.json()["run_id"]
        changed = copy.deepcopy(APPROVAL_SEGMENT)
        changed["version"] = "1.0.1"
        conflict = await http.post("/runs", json={"segment": changed, "input": SMALL_ORDER}, headers=key)
        assert conflict.status_code == 409
    async with gateway.http(GLOBEX) as globex:  # the same key of another tenant is another run
        theirs = await globex.post("/runs", json=body, headers=key)
        assert theirs.status_code == 201 and theirs.json()["run_id"] != first.json()["run_id"]


async def test_stored_definitions_and_invalid_ones(gateway: Gateway) -> None:
    async with gateway.http(ACME) as http:
        ref = {"segment_ref": {"segment_id": "gw_approval", "version": "1.0.0"}, "input": SMALL_ORDER}
        started = await http.post("/runs", json=ref)
        assert started.status_code == 201 and started.json()["segment_id"] == "gw_approval"
        missing = await http.post(
            "/runs", json={"segment_ref": {"segment_id": "gw_approval", "version": "9"}}
        )
        assert missing.status_code == 404
        sneaky = await http.post("/runs", json={"segment_ref": {"segment_id": "..", "version": "x"}})
        assert sneaky.status_code in (404, 422)
        invalid = copy.deepcopy(APPROVAL_SEGMENT)
        invalid["steps"][0]["type"] = "sms_blast"
        refused = await http.post("/runs", json={"segment": invalid})
        assert refused.status_code == 422
        assert refused.json()["problems"][0]["path"] == "steps[0].type"
        both = await http.post("/runs", json={"segment": APPROVAL_SEGMENT, "segment_ref": ref["segment_ref"]})
        assert both.status_code == 422


async def test_human_task_over_http(gateway: Gateway) -> None:
    async with gateway.http(ACME) as http:
        run_id = await _start(http, BIG_ORDER)
        waiting = await eventually(
            lambda: _until(http, f"/runs/{run_id}/tasks", lambda r: r.json()["open_tasks"]), timeout=20
        )
        assert [t["task_id"] for t in waiting.json()["open_tasks"]] == ["approve"]
        pending = await http.get(f"/runs/{run_id}/result")
        assert pending.status_code == 202 and pending.json()["phase"] in ("waiting_human", "running")
        wrong_user = await http.post(
            f"/runs/{run_id}/tasks/approve", json={"responder": "mallory", "decision": "approve"}
        )
        assert wrong_user.status_code == 422 and "mallory" in wrong_user.json()["detail"]
        unknown = await http.post(
            f"/runs/{run_id}/tasks/nope", json={"responder": "alice", "decision": "approve"}
        )
        assert unknown.status_code == 409
        ok = await http.post(
            f"/runs/{run_id}/tasks/approve",
            json={"responder": "alice", "decision": "approve", "comment": "fine"},
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["answer"]["decision"] == "approve" and ok.json()["answer"]["responder"] == "alice"
        twice = await http.post(
            f"/runs/{run_id}/tasks/approve", json={"responder": "alice", "decision": "reject"}
        )
        assert twice.status_code == 409 and "already closed" in twice.json()["detail"]
        done = await eventually(
            lambda: _until(http, f"/runs/{run_id}/result", lambda r: r.status_code == 200), timeout=20
        )
        assert done.json()["result"] == {"placed": True, "total": 150}


async def test_pause_resume_cancel(gateway: Gateway) -> None:
    async with gateway.http(ACME) as http:
        run_id = await _start(http, BIG_ORDER)
        assert (await http.post(f"/runs/{run_id}/pause")).status_code == 202
        assert await eventually(lambda: _is_phase(http, run_id, "paused"))
        assert (await http.post(f"/runs/{run_id}/resume")).status_code == 202
        assert await eventually(lambda: _is_phase(http, run_id, "waiting_human"))
        assert (await http.post(f"/runs/{run_id}/cancel")).status_code == 202
        closed = await eventually(
            lambda: _until(http, f"/runs/{run_id}/result", lambda r: r.status_code == 409), timeout=20
        )
        assert closed.json()["phase"] == "cancelled"
        assert (await http.post(f"/runs/{run_id}/pause")).status_code == 409


async def _is_phase(http: httpx.AsyncClient, run_id: str, phase: str) -> bool:
    return await _phase(http, run_id) == phase


async def test_another_tenant_sees_nothing_and_changes_nothing(gateway: Gateway) -> None:
    async with gateway.http(ACME) as acme, gateway.http(GLOBEX) as globex:
        run_id = await _start(acme, BIG_ORDER)
        assert await eventually(lambda: _is_phase(acme, run_id, "waiting_human"))
        for method, path, body in [
            ("GET", f"/runs/{run_id}", None),
            ("GET", f"/runs/{run_id}/result", None),
            ("GET", f"/runs/{run_id}/tasks", None),
            ("GET", f"/runs/{run_id}/events", None),
            ("POST", f"/runs/{run_id}/tasks/approve", {"responder": "alice", "decision": "reject"}),
            ("POST", f"/runs/{run_id}/pause", None),
            ("POST", f"/runs/{run_id}/resume", None),
            ("POST", f"/runs/{run_id}/cancel", None),
        ]:
            theirs = await globex.request(method, path, json=body)
            nothing = await globex.request(
                method, path.replace(run_id, f"no-such-{uuid.uuid4().hex}"), json=body
            )
            assert theirs.status_code == 404, (method, path, theirs.text)
            assert theirs.json() == {"detail": f"no run '{run_id}'"}
            assert nothing.status_code == 404
        listed = (await globex.get("/runs?segment=gw_approval")).json()["runs"]
        assert run_id not in [r["run_id"] for r in listed]
        assert all(r["tenant_id"] == "globex" for r in listed)
        status = (await acme.get(f"/runs/{run_id}")).json()
        assert status["phase"] == "waiting_human" and [t["task_id"] for t in status["open_tasks"]] == [
            "approve"
        ]
        await acme.post(f"/runs/{run_id}/cancel")


async def test_body_limit_and_cors(gateway: Gateway) -> None:
    async with gateway.http(ACME) as http:
        huge = {"segment": APPROVAL_SEGMENT, "input": {"blob": "x" * 300_000}}
        assert (await http.post("/runs", json=huge)).status_code == 413

        async def chunks() -> Any:  # streamed, no Content-Length
            for _ in range(10):
                yield b"x" * 50_000

        streamed = await http.post(
            "/segments/validate", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        preflight = await http.options(
            "/runs",
            headers={"Origin": "https://canvas.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers.get("access-control-allow-origin") == "https://canvas.example"
        foreign = await http.get("/catalog", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in foreign.headers


async def test_openapi_describes_the_responses(gateway: Gateway) -> None:
    async with gateway.http() as http:
        spec = (await http.get("/openapi.json")).json()
    result = spec["paths"]["/runs/{run_id}/result"]["get"]["responses"]
    assert {"200", "202", "409", "404"} <= set(result)
    assert spec["paths"]["/runs"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert "text/event-stream" in spec["paths"]["/runs/{run_id}/events"]["get"]["responses"]["200"]["content"]


async def test_list_filters_with_control_characters_are_refused_not_sent_to_temporal(
    gateway: Gateway,
) -> None:
    """Found by the fuzzer: a NUL byte in `segment` reached Temporal's visibility query (503)."""
    async with gateway.http(ACME) as http:
        refused = await http.get("/runs", params={"segment": "ord\x00er"})
        assert refused.status_code == 422
        unknown_phase = await http.get("/runs", params={"phase": "sleeping"})
        assert unknown_phase.status_code == 422
        assert (
            await http.get("/runs", params={"segment": "order_processing", "phase": "completed"})
        ).status_code == 200
