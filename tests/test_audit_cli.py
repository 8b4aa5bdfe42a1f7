"""`segments audit` exports a run's trail from its Temporal history; `audit verify` detects any edit."""

import json
import uuid
from pathlib import Path

from temporalio.client import Client

from tests.cli_helpers import segments_cli

EXAMPLES = Path(__file__).parent.parent / "examples"


async def test_audit_export_verifies_and_a_changed_byte_is_caught(
    client: Client, worker: str, tmp_path: Path
) -> None:
    run_id = f"audited-{uuid.uuid4().hex[:8]}"
    started = await segments_cli(
        client,
        worker,
        "run",
        str(EXAMPLES / "pricing_loop.json"),
        "--input",
        f"@{EXAMPLES / 'pricing_loop.input.json'}",
        "--id",
        run_id,
        "--tenant",
        "acme",
    )
    assert started.code == 0, started.stderr

    export = tmp_path / "audit.jsonl"
    exported = await segments_cli(client, worker, "audit", run_id, "--out", str(export))
    assert exported.code == 0, exported.stderr
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert lines[0]["event"] == "run_started" and lines[-1]["event"] == "run_completed"
    assert len(lines) >= 3

    verified = await segments_cli(client, worker, "audit", "verify", str(export))
    assert verified.code == 0 and "chain intact" in verified.stdout

    raw = export.read_bytes()
    line_starts = [0, *[i + 1 for i, byte in enumerate(raw) if byte == ord("\n")][:-1]]
    target = len(line_starts) // 2
    changed = bytearray(raw)
    changed[line_starts[target] + 5] ^= 1  # one bit of one byte, inside the middle line
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(bytes(changed))
    refused = await segments_cli(client, worker, "audit", "verify", str(tampered))
    assert refused.code == 1
    assert f"line {target + 1}:" in refused.stdout


async def test_the_audit_follows_continue_as_new(client: Client, worker: str, tmp_path: Path) -> None:
    from tests.test_long_runs import LOOP

    run_id = f"audited-long-{uuid.uuid4().hex[:8]}"
    request = {"segment": LOOP, "input": {"steps": 30}, "options": {"continue_as_new_after_steps": 20}}
    await (await client.start_workflow("SegmentWorkflow", request, id=run_id, task_queue=worker)).result()
    export = tmp_path / "long.jsonl"
    assert (await segments_cli(client, worker, "audit", run_id, "--out", str(export))).code == 0
    events = [json.loads(line)["event"] for line in export.read_text().splitlines()]
    assert events.count("run_continued_as_new") >= 2
    assert events[0] == "run_started" and events[-1] == "run_completed"
    assert sum(1 for e in events if e == "activity_completed") == 31  # init + 30 turns of add
    verified = await segments_cli(client, worker, "audit", "verify", str(export))
    assert verified.code == 0, verified.stdout
