"""The CLI problems a new user hit when following the README literally, each as a test."""

import asyncio
import json
import sys
import uuid
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus

from client.namespaces import REQUIRED_ATTRIBUTES, missing_setup
from tests.cli_helpers import ROOT, run_command, segments_cli, server_address
from tests.temporal_binaries import find_binary

EXAMPLE = ROOT / "examples" / "pricing_loop.json"
EXAMPLE_INPUT = ROOT / "examples" / "pricing_loop.input.json"


async def test_connection_flags_work_after_the_command_too(client: Client, worker: str) -> None:
    run_id = f"flags-{uuid.uuid4().hex[:8]}"
    started = await segments_cli(
        client, worker, "start", str(EXAMPLE), "--input", f"@{EXAMPLE_INPUT}", "--id", run_id
    )
    assert started.code == 0, started.stderr
    segments = find_binary("segments")
    # the flags only after the subcommand: the run is found on the test server, not on localhost:7233
    done = await run_command(segments, "result", run_id, "--address", server_address(client))
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["order_id"] == "A-1001"
    # before and after: the later one wins, as with any option given twice
    done = await run_command(
        segments, "--address", "localhost:1", "status", run_id, "--address", server_address(client)
    )
    assert done.code == 0, done.stderr


async def test_a_plugin_that_cannot_be_imported_is_reported_as_a_plugin_error(
    client: Client, worker: str
) -> None:
    env = {"SEGMENTS_PLUGINS": "no_such_plugin_module"}
    done = await run_command(
        find_binary("segments"), "--address", server_address(client), "status", "whatever", env=env
    )
    assert done.code == 2
    assert "no_such_plugin_module" in done.stderr and "cannot be imported" in done.stderr
    assert "cannot reach Temporal" not in done.stderr


async def test_segments_finds_a_plugin_in_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "my_plugin.py").write_text(
        "from pydantic import BaseModel\n"
        "class Config(BaseModel):\n"
        "    text: str\n"
        "def shout(config, step):\n"
        "    return config.text.upper()\n"
        "def register(registry):\n"
        "    registry.add_function_step('shout', shout, Config)\n"
    )
    done = await run_command(
        find_binary("segments"), "catalog", env={"SEGMENTS_PLUGINS": "my_plugin"}, cwd=tmp_path
    )
    assert done.code == 0, done.stderr
    assert "shout" in {t["type_id"] for t in json.loads(done.stdout)["step_types"]}


async def test_namespace_create_makes_a_namespace_ready_for_runs(client: Client, tmp_path: Path) -> None:
    namespace = f"acme-{uuid.uuid4().hex[:6]}"
    segments = find_binary("segments")
    address = server_address(client)
    before = await run_command(
        segments,
        "start",
        str(EXAMPLE),
        "--input",
        f"@{EXAMPLE_INPUT}",
        "--address",
        address,
        "--namespace",
        namespace,
    )
    assert before.code != 0
    assert f"segments namespace create {namespace}" in before.stderr

    created = await run_command(segments, "--address", address, "namespace", "create", namespace)
    assert created.code == 0, created.stderr
    assert f"created namespace '{namespace}'" in created.stdout
    assert "SegmentId" in created.stdout
    assert await missing_setup(client, namespace) is None
    again = await run_command(segments, "--address", address, "namespace", "create", namespace)
    assert again.code == 0 and "is ready" in again.stdout

    started = await run_command(
        segments,
        "start",
        str(EXAMPLE),
        "--input",
        f"@{EXAMPLE_INPUT}",
        "--address",
        address,
        "--namespace",
        namespace,
    )
    assert started.code == 0, started.stderr


async def test_missing_setup_names_each_missing_search_attribute(client: Client) -> None:
    namespace = f"bare-{uuid.uuid4().hex[:6]}"
    assert "does not exist" in (await missing_setup(client, namespace) or "")
    done = await run_command(
        find_binary("temporal"),
        "operator",
        "namespace",
        "create",
        "--namespace",
        namespace,
        "--address",
        server_address(client),
    )
    assert done.code == 0, done.stderr
    message = await missing_setup(client, namespace) or ""
    assert all(name in message for name in REQUIRED_ATTRIBUTES), message


async def test_a_closed_pipe_is_not_a_traceback() -> None:
    done = await run_command("bash", "-c", f"'{find_binary('segments')}' catalog | head -c 10")
    assert done.code == 0
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


async def test_pause_resume_and_cancel_of_an_ended_run_say_so(client: Client, worker: str) -> None:
    run_id = f"ended-{uuid.uuid4().hex[:8]}"
    done = await segments_cli(
        client, worker, "run", str(EXAMPLE), "--input", f"@{EXAMPLE_INPUT}", "--id", run_id
    )
    assert done.code == 0, done.stderr
    for action in ("pause", "resume", "cancel"):
        done = await segments_cli(client, worker, action, run_id)
        assert done.code == 1, (action, done.stdout)
        assert "has already ended (completed)" in done.stderr and f"nothing to {action}" in done.stderr


LOOP = {
    "segment_id": "counter",
    "entrypoint": "count",
    "steps": [
        {
            "step_id": "count",
            "type": "transform",
            "max_visits": 60,
            "config": {"expression": "$exists(steps.count.output) ? steps.count.output + 1 : 1"},
        },
        {
            "step_id": "more",
            "type": "condition",
            "max_visits": 60,
            "config": {"expression": "steps.count.output < 50"},
        },
    ],
    "edges": [
        {"source": "count", "target": "more"},
        {"source": "more", "source_port": "true", "target": "count"},
    ],
    "output": "{% steps.count.output %}",
}


async def test_run_options_reach_the_run_from_the_cli(client: Client, worker: str, tmp_path: Path) -> None:
    segment = tmp_path / "counter.json"
    segment.write_text(json.dumps(LOOP))
    run_id = f"options-{uuid.uuid4().hex[:8]}"
    done = await segments_cli(
        client, worker, "run", str(segment), "--id", run_id, "--option", "continue_as_new_after_steps=20"
    )
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout) == 50
    runs = [execution async for execution in client.list_workflows(f"WorkflowId = '{run_id}'")]
    assert sum(run.status == WorkflowExecutionStatus.CONTINUED_AS_NEW for run in runs) >= 2

    bad = await segments_cli(
        client, worker, "start", str(segment), "--option", "continue_as_new_after_steps=5"
    )
    assert bad.code == 2 and "at least 20" in bad.stderr
    unknown = await segments_cli(client, worker, "start", str(segment), "--option", "speed=50")
    assert unknown.code == 2 and "unknown run option 'speed'" in unknown.stderr


async def test_a_worker_for_a_namespace_that_is_not_ready_says_how_to_fix_it(client: Client) -> None:
    namespace = f"nowhere-{uuid.uuid4().hex[:6]}"
    done = await run_command(
        sys.executable,
        str(ROOT / "worker.py"),
        "--address",
        server_address(client),
        "--namespace",
        namespace,
        cwd=ROOT,
    )
    assert done.code != 0
    assert f"namespace '{namespace}' does not exist" in done.stderr
    assert f"segments namespace create {namespace}" in done.stderr


async def test_run_says_when_it_waits_for_a_person(client: Client, worker: str) -> None:
    run_id = f"waits-{uuid.uuid4().hex[:8]}"
    process = await asyncio.create_subprocess_exec(
        find_binary("segments"),
        "--address",
        server_address(client),
        "--task-queue",
        worker,
        "run",
        str(ROOT / "examples" / "fulfilment.json"),
        "--input",
        '{"order_id": "A-1"}',
        "--id",
        run_id,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    async with asyncio.timeout(60):
        while not any("waiting for a person" in line for line in lines):
            lines.append((await process.stderr.readline()).decode())
    assert "pick_carrier (ops)" in lines[-1] and f"segments tasks {run_id}" in lines[-1]
    process.kill()
    await process.wait()
    await client.get_workflow_handle(run_id).cancel()


async def test_an_ended_run_has_no_pending_steps(client: Client, worker: str) -> None:
    """pricing_loop's `discount` is never visited when the order is under budget: once the run has
    ended it is not 'pending' either."""
    run_id = f"pending-{uuid.uuid4().hex[:8]}"
    run_input = json.dumps({"order": {"id": "A-3", "items": [{"qty": 1, "price": 5}]}, "budget": 100})
    done = await segments_cli(client, worker, "run", str(EXAMPLE), "--input", run_input, "--id", run_id)
    assert done.code == 0, done.stderr
    status = json.loads((await segments_cli(client, worker, "status", run_id)).stdout)
    assert status["phase"] == "completed"
    assert "discount" not in [step["step_id"] for step in status["steps_done"]]
    assert status["steps_pending"] == []
