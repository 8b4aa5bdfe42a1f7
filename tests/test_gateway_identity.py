"""Who answers is who is authenticated (review M2): a token names a user or a service; a user
answers only as herself, a service only for the users a deployment lets it act for."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.identity import parse_identity
from gateway.settings import GatewaySettings, SettingsError
from tests.gateway_support import (
    ACME,
    APPROVAL_SEGMENT,
    BIG_ORDER,
    Gateway,
    eventually,
    gateway_fixture,  # noqa: F401  (the `gateway` fixture)
)

ANNA = {"Authorization": "Bearer tok-anna"}  # acme/finance-anna
CANVAS = {"Authorization": "Bearer tok-canvas"}  # acme/service:canvas, may act for alice only


async def _waiting_run(gateway: Gateway, assignee: str) -> str:
    segment: dict[str, Any] = {
        **APPROVAL_SEGMENT,
        "steps": [dict(step) for step in APPROVAL_SEGMENT["steps"]],
    }
    segment["steps"][2] = {
        **segment["steps"][2],
        "config": {**segment["steps"][2]["config"], "assignee": assignee},
    }
    async with gateway.http(ACME) as http:
        started = await http.post("/runs", json={"segment": segment, "input": BIG_ORDER})
        assert started.status_code == 201, started.text
        run_id = str(started.json()["run_id"])
        assert await eventually(lambda: _open(http, run_id))
    return run_id


async def _open(http: Any, run_id: str) -> list[str]:
    return [t["task_id"] for t in (await http.get(f"/runs/{run_id}/tasks")).json()["open_tasks"]]


async def test_a_user_cannot_answer_as_someone_else(gateway: Gateway) -> None:
    """finance-anna's token claims to be alice, the assignee: refused, the task stays open; her
    own answer is recorded under her own name and the run refuses it (she is not the assignee)."""
    run_id = await _waiting_run(gateway, "alice")
    async with gateway.http(ANNA) as http:
        claimed = await http.post(
            f"/runs/{run_id}/tasks/approve", json={"responder": "alice", "decision": "approve"}
        )
        assert claimed.status_code == 403 and "finance-anna" in claimed.json()["detail"]
        as_herself = await http.post(f"/runs/{run_id}/tasks/approve", json={"decision": "approve"})
        assert as_herself.status_code == 422 and "finance-anna" in as_herself.json()["detail"]
        assert await _open(http, run_id) == ["approve"]
        await http.post(f"/runs/{run_id}/cancel")


async def test_a_users_answer_carries_her_name_without_her_saying_it(gateway: Gateway) -> None:
    run_id = await _waiting_run(gateway, "finance-anna")
    async with gateway.http(ANNA) as http:
        answered = await http.post(f"/runs/{run_id}/tasks/approve", json={"decision": "approve"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"]["responder"] == "finance-anna"


async def test_a_service_answers_only_for_the_users_it_may_act_for(gateway: Gateway) -> None:
    run_id = await _waiting_run(gateway, "bob")
    async with gateway.http(CANVAS) as http:
        for body in ({"responder": "bob", "decision": "approve"}, {"decision": "approve"}):
            refused = await http.post(f"/runs/{run_id}/tasks/approve", json=body)
            assert refused.status_code == 403
            assert (
                "SEGMENTS_GATEWAY_ACT_FOR" in refused.json()["detail"]
                or "service token" in refused.json()["detail"]
            )
        assert await _open(http, run_id) == ["approve"]
        await http.post(f"/runs/{run_id}/cancel")
    run_id = await _waiting_run(gateway, "alice")
    async with gateway.http(CANVAS) as http:
        allowed = await http.post(
            f"/runs/{run_id}/tasks/approve", json={"responder": "alice", "decision": "approve"}
        )
    assert allowed.status_code == 200 and allowed.json()["answer"]["responder"] == "alice"


def test_token_identities_and_act_for_from_the_environment() -> None:
    settings = GatewaySettings.from_env(
        {
            "SEGMENTS_GATEWAY_TOKENS": "t1=acme/anna,t2=acme/service:canvas,t3=acme",
            "SEGMENTS_GATEWAY_ACT_FOR": "acme/service:canvas=anna|ben,acme=*",
        }
    )
    assert settings.act_for == {"acme/service:canvas": frozenset({"anna", "ben"}), "acme": frozenset({"*"})}
    anna = parse_identity("acme/anna", "X")
    assert (anna.tenant, anna.user) == ("acme", "anna")
    assert anna.responder_for(None, {}) == ("anna", "")
    assert anna.responder_for("ben", {})[0] is None
    canvas = parse_identity("acme/service:canvas", "X")
    assert canvas.is_service and canvas.responder_for("ben", settings.act_for) == ("ben", "")
    assert canvas.responder_for("carol", settings.act_for)[0] is None
    assert parse_identity("acme", "X").responder_for("carol", settings.act_for) == ("carol", "")
    for bad in ("acme/", "/anna", "acme/service:"):
        with pytest.raises(SettingsError, match="SEGMENTS_GATEWAY_TOKENS"):
            GatewaySettings.from_env({"SEGMENTS_GATEWAY_TOKENS": f"t={bad}"})
