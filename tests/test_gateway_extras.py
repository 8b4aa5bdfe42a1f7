"""The gateway's smaller promises: `GET /health` needs no token; run options reach the run."""

from tests.gateway_support import ACME, APPROVAL_SEGMENT, Gateway
from tests.gateway_support import gateway_fixture as gateway_fixture


async def test_health_needs_no_token_and_other_routes_still_do(gateway: Gateway) -> None:
    async with gateway.http() as http:
        health = await http.get("/health")
        catalog = await http.get("/catalog")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert catalog.status_code == 401


async def test_run_options_reach_the_run_and_bad_ones_are_refused(gateway: Gateway) -> None:
    async with gateway.http(ACME) as http:
        bad = await http.post(
            "/runs",
            json={"segment": APPROVAL_SEGMENT, "input": {}, "options": {"continue_as_new_after_steps": 5}},
        )
        assert bad.status_code == 422 and "at least 20" in bad.text
        good = await http.post(
            "/runs",
            json={
                "segment": APPROVAL_SEGMENT,
                "input": {"items": []},
                "options": {"continue_as_new_after_steps": 25},
            },
        )
        assert good.status_code == 201, good.text
    run_id = good.json()["run_id"]
    history = await gateway.segments.temporal.get_workflow_handle(run_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert b"continue_as_new_after_steps" in started.input.payloads[0].data
