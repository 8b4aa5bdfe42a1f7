"""`python worker.py` as users run it: SIGTERM lets the running step finish before the worker exits."""

import asyncio
import signal
import time
import uuid
from pathlib import Path

from temporalio.client import Client

from tests.cli_helpers import server_address, start_worker_process
from tests.conftest import start_segment

ROOT = Path(__file__).parent.parent
PLUGIN = '''
import asyncio
from pydantic import BaseModel

class Nap(BaseModel):
    seconds: float

async def nap(config, step):
    """Sleep, then say so."""
    await asyncio.sleep(config.seconds)
    return "rested"

def register(registry):
    registry.add_function_step("nap", nap, Nap)
'''


async def _start_worker(client: Client, queue: str, plugin_dir: Path) -> asyncio.subprocess.Process:
    env = {"SEGMENTS_PLUGINS": "nap_plugin", "PYTHONPATH": f"{plugin_dir}:{ROOT}"}
    return await start_worker_process(server_address(client), queue, env)


async def test_sigterm_lets_the_running_step_finish(client: Client, tmp_path: Path) -> None:
    (tmp_path / "nap_plugin.py").write_text(PLUGIN)
    queue = f"graceful-{uuid.uuid4().hex[:6]}"
    first = await _start_worker(client, queue, tmp_path)
    second: asyncio.subprocess.Process | None = None
    try:
        segment = {
            "segment_id": "napping",
            "steps": [{"step_id": "nap", "type": "nap", "config": {"seconds": 2}}],
            "edges": [],
        }
        handle = await start_segment(client, queue, segment)
        deadline = time.monotonic() + 20
        while not (await handle.query("status"))["steps_running"]:
            assert time.monotonic() < deadline, "the step never started"
            await asyncio.sleep(0.1)
        first.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.wait(), 30) == 0
        events = (await handle.fetch_history()).to_json_dict()["events"]
        completed = [e for e in events if "activityTaskCompletedEventAttributes" in e]
        started = [e for e in events if "activityTaskStartedEventAttributes" in e]
        assert len(completed) == 1, "the step must finish on the stopping worker"
        assert [e["activityTaskStartedEventAttributes"].get("attempt") for e in started] == [1]
        second = await _start_worker(client, queue, tmp_path)  # the run goes on with the next worker
        assert await asyncio.wait_for(handle.result(), 30) == {"nap": "rested"}
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
