"""The `segments` CLI and the `temporal` CLI, as users run them, against a real dev server."""

import json
import uuid
from pathlib import Path

from temporalio.client import Client

from segments.hashing import definition_hash
from tests.cli_helpers import run_command, segments_cli, server_address, start_worker_process
from tests.temporal_binaries import find_binary

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "pricing_loop.json"
EXAMPLE_INPUT = ROOT / "examples" / "pricing_loop.input.json"
FIVE_MISTAKES = ROOT / "tests" / "invalid" / "five_mistakes.json"
EXPECTED_RESULT = {"order_id": "A-1001", "final": 874.8, "discount_rounds": 3}


async def test_validate_prints_every_problem_and_exits_non_zero(client: Client) -> None:
    done = await segments_cli(client, "unused", "validate", str(FIVE_MISTAKES))
    assert done.code == 1
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 5
    assert [line.split(":")[0] for line in lines] == [
        "steps[0].config.expression",
        "steps[1].config.expression",
        "steps[2].type",
        "steps[3].timeout",
        "edges[1].source_port",
    ]
    assert "5 problems" in done.stderr


async def test_validate_accepts_a_valid_file(client: Client) -> None:
    done = await segments_cli(client, "unused", "validate", str(EXAMPLE))
    assert done.code == 0 and "valid" in done.stdout


async def test_run_prints_the_result_and_the_web_ui_link(client: Client, worker: str) -> None:
    run_id = f"cli-{uuid.uuid4().hex[:8]}"
    done = await segments_cli(
        client,
        worker,
        "run",
        str(EXAMPLE),
        "--input",
        f"@{EXAMPLE_INPUT}",
        "--tenant",
        "acme",
        "--id",
        run_id,
    )
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED_RESULT
    assert f"/namespaces/default/workflows/{run_id}" in done.stderr
    status = await segments_cli(client, worker, "status", run_id)
    assert json.loads(status.stdout)["phase"] == "completed"
    listed = await segments_cli(client, worker, "list", "--tenant", "acme", "--segment", "pricing_loop")
    assert run_id in [run["run_id"] for run in json.loads(listed.stdout)]
    result = await segments_cli(client, worker, "result", run_id)
    assert json.loads(result.stdout) == EXPECTED_RESULT


async def test_starting_an_invalid_definition_refuses_before_anything_runs(
    client: Client, worker: str
) -> None:
    done = await segments_cli(client, worker, "run", str(FIVE_MISTAKES))
    assert done.code == 1
    assert "is not valid (5 problems)" in done.stderr


async def test_clear_errors_and_exit_codes(client: Client, worker: str) -> None:
    missing_run = await segments_cli(client, worker, "status", "no-such-run")
    assert missing_run.code == 4 and "no run 'no-such-run'" in missing_run.stderr
    missing_file = await segments_cli(client, worker, "validate", "nope.json")
    assert missing_file.code == 2 and "cannot read definition 'nope.json'" in missing_file.stderr
    bad_input = await segments_cli(client, worker, "run", str(EXAMPLE), "--input", "{not json")
    assert bad_input.code == 2 and "--input is not JSON" in bad_input.stderr
    down = await run_command(find_binary("segments"), "--address", "127.0.0.1:1", "list")
    assert down.code == 3 and "cannot reach Temporal at 127.0.0.1:1" in down.stderr


async def test_catalog_lists_the_step_types(client: Client) -> None:
    done = await segments_cli(client, "unused", "catalog")
    types = {t["type_id"] for t in json.loads(done.stdout)["step_types"]}
    assert {"transform", "condition"} <= types


async def test_a_plugin_function_shows_in_catalog_and_runs(client: Client, tmp_path: Path) -> None:
    """A function registered by a plugin module appears in `segments catalog` and runs in a segment
    on a worker started with `python worker.py`, exactly as a user would do it."""
    plugin = tmp_path / "demo_plugin.py"
    plugin.write_text(
        "from pydantic import BaseModel\n"
        "class ShoutConfig(BaseModel):\n"
        "    text: str\n"
        "def shout(config, step):\n"
        "    '''Upper-case a text.'''\n"
        "    return config.text.upper() + '!'\n"
        "def register(registry):\n"
        "    registry.add_function_step('shout', shout, ShoutConfig, category='demo')\n"
    )
    env = {"SEGMENTS_PLUGINS": "demo_plugin", "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    catalog = await run_command(find_binary("segments"), "catalog", env=env)
    shout = next(t for t in json.loads(catalog.stdout)["step_types"] if t["type_id"] == "shout")
    assert shout["description"] == "Upper-case a text." and shout["category"] == "demo"

    queue = f"plugin-{uuid.uuid4().hex[:6]}"
    worker = await start_worker_process(server_address(client), queue, env)
    try:
        segment = tmp_path / "shout.json"
        segment.write_text(
            json.dumps(
                {
                    "segment_id": "shouting",
                    "steps": [{"step_id": "s", "type": "shout", "config": {"text": "{% input.name %}"}}],
                    "edges": [],
                }
            )
        )
        done = await run_command(
            find_binary("segments"),
            "--address",
            server_address(client),
            "--task-queue",
            queue,
            "run",
            str(segment),
            "--input",
            '{"name": "ada"}',
            env=env,
        )
        assert done.code == 0, done.stderr
        assert json.loads(done.stdout) == {"s": "ADA!"}
    finally:
        worker.terminate()
        await worker.wait()


async def test_temporal_cli_can_start_a_run(client: Client, worker: str, tmp_path: Path) -> None:
    """The contract's interface works for clients that are not ours: `temporal workflow start`."""
    request = {"segment": json.loads(EXAMPLE.read_text()), "input": json.loads(EXAMPLE_INPUT.read_text())}
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request))
    run_id = f"temporal-cli-{uuid.uuid4().hex[:8]}"
    started = await run_command(
        find_binary("temporal"),
        "workflow",
        "start",
        "--address",
        server_address(client),
        "--type",
        "SegmentWorkflow",
        "--task-queue",
        worker,
        "--workflow-id",
        run_id,
        "--input-file",
        str(request_file),
    )
    assert started.code == 0, started.stderr
    handle = client.get_workflow_handle(run_id)
    assert await handle.result() == EXPECTED_RESULT
    memo = await (await handle.describe()).memo()
    assert memo == {"segment_hash": definition_hash(request["segment"]), "segment_version": "1.0.0"}


async def test_answering_a_run_that_ended_says_so(client: Client, worker: str) -> None:
    run_id = f"ended-{uuid.uuid4().hex[:8]}"
    done = await segments_cli(
        client, worker, "run", str(EXAMPLE), "--input", f"@{EXAMPLE_INPUT}", "--id", run_id
    )
    assert done.code == 0, done.stderr
    late = await segments_cli(client, worker, "approve", run_id, "approve", "--as", "anna")
    assert late.code == 1 and "has already ended" in late.stderr
