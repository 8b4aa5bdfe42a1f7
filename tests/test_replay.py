"""Every recorded history replays on the current interpreter: a non-deterministic change fails here.

Histories are recorded by `python -m tests.record_histories` from real runs on a real server.
"""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from segments.registry import use_catalog
from worker import WORKFLOWS, build_components, workflow_runner

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_the_corpus_is_not_empty() -> None:
    assert len(HISTORIES) >= 4


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    use_catalog(build_components(plugins=[]).catalog)
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    replayer = Replayer(workflows=list(WORKFLOWS), workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
