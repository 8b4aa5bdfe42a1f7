"""With encryption on, a canary from a run's input is nowhere in the raw history of a real
SegmentWorkflow run (input, step outputs, failure messages), and `segments codec-server` shows it
to those who hold the key."""

import asyncio
import base64
import json
import os
import uuid

import httpx
import pytest
from temporalio.client import Client

from client.settings import ConnectionSettings
from tests.cli_helpers import free_port, server_address
from tests.temporal_binaries import find_binary
from worker import build_components, running_worker

CANARY = "canary-7f3e-do-not-store"
KEY = base64.b64encode(bytes(range(32))).decode()


def _leak_forms(text: str) -> list[str]:
    forms = [text]
    for pad in range(3):
        forms.append(base64.b64encode(b"\0" * pad + text.encode()).decode()[4:-4])
    return forms


async def test_encrypted_run_hides_the_canary_and_the_codec_server_reveals_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENTS_CODEC_KEYS", f"k1:{KEY}")
    monkeypatch.setenv("SEGMENTS_CODEC_KEY_ID", "k1")
    settings = ConnectionSettings(address=server_address(client))
    encrypted = await settings.connect()
    queue = f"encrypted-{uuid.uuid4().hex[:6]}"
    segment = {
        "segment_id": "encrypted",
        "steps": [
            {"step_id": "shout", "type": "transform", "config": {"expression": "$uppercase(input.note)"}},
            {
                "step_id": "fail",
                "type": "transform",
                "on_error": "route",
                "config": {"expression": "$error('rejected ' & input.note)"},
            },
            {
                "step_id": "after",
                "type": "transform",
                "config": {"expression": "steps.fail.output.error.message"},
            },
        ],
        "edges": [
            {"source": "shout", "target": "fail"},
            {"source": "fail", "source_port": "error", "target": "after"},
        ],
    }
    run_id = f"encrypted-{uuid.uuid4().hex[:8]}"
    async with running_worker(encrypted, queue, build_components(plugins=[])):
        handle = await encrypted.start_workflow(
            "SegmentWorkflow", {"segment": segment, "input": {"note": CANARY}}, id=run_id, task_queue=queue
        )
        assert await handle.result() == {"after": f"expression: rejected {CANARY}"}

    history = await client.get_workflow_handle(run_id).fetch_history()  # a client without the key
    raw = history.to_json()
    for form in _leak_forms(CANARY) + _leak_forms(CANARY.upper()):
        assert form not in raw

    port = free_port()
    codec_server = await asyncio.create_subprocess_exec(
        find_binary("segments"),
        "codec-server",
        "--port",
        str(port),
        env={**os.environ, "SEGMENTS_CODEC_SERVER_TOKENS": "codec-tok=default"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        started = json.loads(raw)["events"][0]["workflowExecutionStartedEventAttributes"]["input"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(600):  # up to a minute: the CLI starts slowly on a busy machine
                try:
                    response = await http.post(
                        "/decode",
                        json=started,
                        headers={"X-Namespace": "default", "Authorization": "Bearer codec-tok"},
                    )
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert (await http.post("/decode", json=started)).status_code == 401  # no token: nothing decoded
        assert response.status_code == 200
        decoded = base64.b64decode(response.json()["payloads"][0]["data"]).decode()
        assert CANARY in decoded
    finally:
        codec_server.terminate()
        await codec_server.wait()
