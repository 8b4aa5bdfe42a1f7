"""Every recorded history replays on the current interpreter: a non-deterministic change fails here.

Histories are recorded by `python -m tests.record_histories` from real runs on a real server.
"""

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from segments.builtin_types import default_catalog
from worker import SegmentsPlugin, build_components

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_the_corpus_is_not_empty() -> None:
    assert len(HISTORIES) >= 17


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    """With the worker's own plugin: the same workflows, sandbox and catalog as a worker."""
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    plugin = SegmentsPlugin(build_components(plugins=[]))
    try:
        replayer = Replayer(workflows=[], plugins=[plugin])
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    finally:
        await plugin.aclose()
    assert result.replay_failure is None


def _step_types(path: Path) -> set[str]:
    first = json.loads(path.read_text())["events"][0]
    payload = first["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]["data"]
    request = json.loads(base64.b64decode(payload))
    segment = request.get("segment", {}) if isinstance(request, dict) else {}
    return {str(step.get("type")) for step in segment.get("steps", []) if isinstance(step, dict)}


def test_the_corpus_covers_every_built_in_step_type() -> None:
    covered = set().union(*(_step_types(p) for p in HISTORIES))
    assert set(default_catalog().type_ids) <= covered, set(default_catalog().type_ids) - covered
    names = {p.stem for p in HISTORIES}
    assert any("__run" in n for n in names), "no continue-as-new chain in the corpus"
    assert any("__" in n and "__run" not in n for n in names), "no branch child history in the corpus"
