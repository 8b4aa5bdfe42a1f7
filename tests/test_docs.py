"""The README and docs/ work as written: every code block is run, checked or visibly marked.

The command and Python blocks of one file run in order in one shell, from the repository root, as
a reader pastes them: the README from its first command (`bash scripts/demo.sh`, which starts the
embedded Temporal server on its usual ports and a worker), the files in docs/ with the project's
virtual environment activated and the demo running. See tests/docs_blocks.py for the rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
from collections import Counter
from pathlib import Path

import pytest

from client.api import load_catalog
from segments.models import SegmentDefinition
from segments.validation import validate_definition
from tests.cli_helpers import run_command
from tests.docs_blocks import ROOT, Block, documents, output_matches, read_blocks
from tests.gateway_support import ACME, Gateway
from tests.gateway_support import gateway_fixture as gateway_fixture
from tests.temporal_binaries import find_binary

pytestmark = pytest.mark.timeout(1800)

DEMO_PORTS = (7233, 8233, 8701, 8702, 8080, 8081)
BLOCK_TIMEOUT = 240.0


def test_every_block_is_run_checked_or_visibly_not_run() -> None:
    counts: Counter[str] = Counter()
    unknown: list[str] = []
    for path in documents():
        for block in read_blocks(path):
            counts[block.kind] += 1
            if block.kind == "unknown":
                unknown.append(f"{block.where}: a `{block.language or 'plain'}` block")
    assert not unknown, (
        "blocks the tests do not know how to run; give them a language the tests run (bash, python, "
        "json, text) or say 'Not run by the test suite: <reason>.' right before them:\n" + "\n".join(unknown)
    )
    print("documentation blocks:", dict(counts))
    assert counts["command"] > 0


def test_json_blocks_parse_and_whole_definitions_validate() -> None:
    catalog = load_catalog()
    problems: list[str] = []
    for path in documents():
        for block in read_blocks(path):
            if block.kind != "json":
                continue
            try:
                value = json.loads(block.text)
            except json.JSONDecodeError as err:
                problems.append(f"{block.where}: not JSON ({err.msg}, line {err.lineno})")
                continue
            if isinstance(value, dict) and "segment_id" in value and "steps" in value:
                found = validate_definition(value, catalog)
                problems.extend(f"{block.where}: {problem}" for problem in found)
    assert not problems, "\n".join(problems)


def _runnable(path: Path) -> list[Block]:
    return [block for block in read_blocks(path) if block.kind in ("command", "python")]


def _script(block: Block) -> str:
    if block.kind == "python":
        return f"python - <<'__DOCS_PYTHON__'\n{block.text}__DOCS_PYTHON__\n"
    return block.text


def _busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    "document", [path.relative_to(ROOT).as_posix() for path in documents() if _runnable(path)]
)
async def test_document_runs_as_written(document: str, tmp_path: Path) -> None:
    path = ROOT / document
    blocks = _runnable(path)
    busy = [port for port in DEMO_PORTS if _busy(port)]
    for _ in range(60):  # a previous page's demo may still be letting go of its ports
        if not busy:
            break
        await asyncio.sleep(0.5)
        busy = [port for port in DEMO_PORTS if _busy(port)]
    assert not busy, (
        f"ports {busy} are in use; the documented commands start the demo on them. "
        "Stop what runs there (bash scripts/demo.sh stop) and run the test again."
    )
    driver = ["cd " + _quote(str(ROOT))]
    if document != "README.md":  # the pages in docs/ say: with the demo running and .venv activated
        driver.append(f"bash scripts/demo.sh >{_quote(str(tmp_path / 'demo.log'))} 2>&1")
        driver.append("source .venv/bin/activate")
    for index, block in enumerate(blocks):
        script = tmp_path / f"block_{index}.sh"
        script.write_text(_script(block))
        out, rc = tmp_path / f"out_{index}", tmp_path / f"rc_{index}"
        driver.append(
            f"source {_quote(str(script))} >{_quote(str(out))} 2>&1 </dev/null; echo $? >{_quote(str(rc))}"
        )
    (tmp_path / "driver.sh").write_text("\n".join(driver) + "\n")
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if not part.startswith(str(ROOT / ".venv"))
    )
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(tmp_path / "driver.sh"),
        env=env,
        start_new_session=True,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for index, block in enumerate(blocks):
            rc_file = tmp_path / f"rc_{index}"
            timeout = float(block.options.get("timeout", BLOCK_TIMEOUT))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not rc_file.exists() or not rc_file.read_text().strip():
                assert loop.time() < deadline, _report(
                    block, tmp_path, index, f"still running after {timeout:.0f} s"
                )
                assert process.returncode is None, _report(block, tmp_path, index, "the shell ended early")
                await asyncio.sleep(0.2)
            code = int(rc_file.read_text())
            wanted = int(block.options.get("exit", "0"))
            assert code == wanted, _report(block, tmp_path, index, f"exit code {code}, expected {wanted}")
            if block.expected_output is not None:
                output = (tmp_path / f"out_{index}").read_text()
                missing = output_matches(block.expected_output.text, output)
                assert missing is None, _report(
                    block, tmp_path, index, f"the output lacks the line {missing!r}"
                )
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
        await process.wait()
        if document == "README.md":
            stop = await asyncio.create_subprocess_exec(
                "bash", str(ROOT / "scripts" / "demo.sh"), "stop", cwd=ROOT
            )
            await stop.wait()
        _stop_session(process.pid)


def _stop_session(pid: int) -> None:
    """Background processes a block started (`... &`) belong to the driver's session: end them."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _report(block: Block, tmp_path: Path, index: int, what: str) -> str:
    out = tmp_path / f"out_{index}"
    output = out.read_text()[-3000:] if out.exists() else ""
    return f"{block.where}: {what}\n--- the block:\n{block.text}--- its output (tail):\n{output}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_links_stay_inside_the_repository_and_resolve() -> None:
    broken: list[str] = []
    for path in documents():
        for target in LINK.findall(path.read_text()):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            resolved = (path.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: ({target})")
    assert not broken, "links that leave the repository or lead nowhere:\n" + "\n".join(broken)


def _section(text: str, type_id: str) -> str:
    match = re.search(rf"^### `{re.escape(type_id)}`\n(.*?)(?=^##)", text + "\n##", re.S | re.M)
    assert match, f"docs/format.md has no section '### `{type_id}`'"
    return match.group(1)


def test_the_format_page_describes_every_field_and_step_type() -> None:
    """docs/format.md and `segments schema` / `segments catalog` are twins: a field or a config key
    that the code accepts and the page does not name fails here."""
    page = (ROOT / "docs" / "format.md").read_text()
    schema = SegmentDefinition.json_schema()
    missing = [f"definition field {name}" for name in schema["properties"] if f"`{name}`" not in page]
    for model in ("Step", "Edge", "RetrySpec"):
        missing += [
            f"{model} field {name}"
            for name in schema["$defs"][model]["properties"]
            if f"`{name}`" not in page
        ]
    for step_type in load_catalog().export_for_ui()["step_types"]:
        type_id = step_type["type_id"]
        if step_type.get("category") == "plugin":
            continue
        section = _section(page, type_id)
        missing += [
            f"{type_id} config key {key}"
            for key in step_type["config_schema"].get("properties", {})
            if f"`{key}`" not in section
        ]
        examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]
        if not any(type_id in {s["type"] for s in example.get("steps", [])} for example in examples):
            missing.append(f"a complete example of {type_id}")
    assert not missing, "docs/format.md does not describe:\n" + "\n".join(missing)


async def test_segments_schema_and_the_gateway_schema_route_are_the_same(gateway: Gateway) -> None:
    done = await run_command(find_binary("segments"), "schema")
    assert done.code == 0, done.stderr
    cli_schema = json.loads(done.stdout)
    assert set(cli_schema["properties"]) >= {"segment_id", "steps", "edges", "output"}
    async with gateway.http(ACME) as http:
        response = await http.get("/segments/schema")
    assert response.status_code == 200
    assert response.json() == cli_schema
