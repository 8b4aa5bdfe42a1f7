"""llmteam exports run unchanged on a real Temporal server, by every entry point.

Recorded llmteam runs (tests/llmteam_corpus/) are the reference where llmteam's runner is not
defective; where it is (a `false` condition running the `true` branch), the intended path runs.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from client.api import SegmentsClient
from segments.dialects.loader import load_definition
from segments.hashing import definition_hash
from tests.cli_helpers import run_command, segments_cli, server_address
from tests.llmteam_corpus_support import CORPUS, load, run_named
from tests.temporal_binaries import find_binary


def _client(client: Client, worker: str) -> SegmentsClient:
    return SegmentsClient(client, worker)


@pytest.mark.parametrize("version", ["v2.0", "v2.3", "v5.3"])
async def test_condition_export_runs_like_llmteam_and_takes_the_false_edge(
    client: Client, worker: str, version: str
) -> None:
    path = CORPUS / version / "condition.json"
    segments = _client(client, worker)
    big = await segments.run(load(path), {"amount": 5000})
    assert big == run_named(CORPUS / "v5.3" / "condition.json", "amount 5000")["output"]
    small = await segments.run(load(path), {"amount": 500})
    # llmteam ran needs_review with {"false": ...} (its runner ignores ports); the false edge runs here
    assert run_named(CORPUS / "v5.3" / "condition.json", "amount 500")["output"] != small
    assert small == {"output": {"amount": 500, "approved": None}}


async def test_a_run_started_by_the_client_records_the_dialect_and_the_original_hash(
    client: Client, worker: str
) -> None:
    export = load(CORPUS / "v5.3" / "condition.json")
    handle = await _client(client, worker).start(export, {"amount": 5000})
    await handle.result()
    memo = await (await handle.describe()).memo()
    translation = load_definition(export).definition
    assert memo["segment_dialect"] == "llmteam"
    assert memo["segment_hash"] == definition_hash(export) == memo["source_hash"]
    assert memo["translation_hash"] == definition_hash(translation)


async def test_raw_llmteam_json_through_temporal_workflow_start_runs_like_the_cli(
    client: Client, worker: str, tmp_path: Path
) -> None:
    export_path = CORPUS / "v2.0" / "condition.json"
    request = {"segment": load(export_path), "input": {"amount": 500}}
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request))
    run_id = f"llmteam-raw-{uuid.uuid4().hex[:8]}"
    started = await run_command(
        find_binary("temporal"), "workflow", "start", "--address", server_address(client),
        "--type", "SegmentWorkflow", "--task-queue", worker, "--workflow-id", run_id,
        "--input-file", str(request_file),
    )  # fmt: skip
    assert started.code == 0, started.stderr
    handle = client.get_workflow_handle(run_id)
    raw_result = await handle.result()
    memo = await (await handle.describe()).memo()
    assert memo["segment_dialect"] == "llmteam" and memo["segment_hash"] == definition_hash(
        request["segment"]
    )
    input_file = tmp_path / "input.json"
    input_file.write_text(json.dumps({"amount": 500}))
    by_cli = await segments_cli(client, worker, "run", str(export_path), "--input", f"@{input_file}")
    assert by_cli.code == 0, by_cli.stderr
    assert json.loads(by_cli.stdout) == raw_result == {"output": {"amount": 500, "approved": None}}


async def test_a_team_export_is_refused_by_name_everywhere(
    client: Client, worker: str, tmp_path: Path
) -> None:
    export_path = CORPUS / "v5.3" / "team.json"
    validated = await segments_cli(client, worker, "validate", str(export_path))
    assert validated.code == 1 and "`team`" in validated.stdout and "steps[0].type" in validated.stdout
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps({"segment": load(export_path), "input": {}}))
    run_id = f"llmteam-team-{uuid.uuid4().hex[:8]}"
    started = await run_command(
        find_binary("temporal"), "workflow", "start", "--address", server_address(client),
        "--type", "SegmentWorkflow", "--task-queue", worker, "--workflow-id", run_id,
        "--input-file", str(request_file),
    )  # fmt: skip
    assert started.code == 0, started.stderr
    with pytest.raises(Exception) as failed:
        await client.get_workflow_handle(run_id).result()
    cause: Any = failed.value.__cause__
    assert "`team`" in str(cause) and "steps[0].type" in str(cause)


async def test_segments_import_prints_the_translation_and_its_notes(client: Client, worker: str) -> None:
    done = await segments_cli(client, worker, "import", str(CORPUS / "v5.3" / "condition.json"))
    assert done.code == 0, done.stderr
    translated = json.loads(done.stdout)
    assert {e["source_port"] for e in translated["edges"]} == {"true", "false"}
    assert "condition.json: llmteam export translated" in done.stderr
