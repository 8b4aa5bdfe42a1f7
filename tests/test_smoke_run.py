import json
from pathlib import Path

from temporalio.client import Client

from tests.conftest import start_segment

EXAMPLES = Path(__file__).parent.parent / "examples"


async def test_pricing_loop_runs_to_the_expected_result(client: Client, worker: str) -> None:
    segment = json.loads((EXAMPLES / "pricing_loop.json").read_text())
    run_input = json.loads((EXAMPLES / "pricing_loop.input.json").read_text())
    handle = await start_segment(client, worker, segment, run_input)
    result = await handle.result()
    # 1200 -> 1080 -> 972 -> 874.8: three discount rounds bring it under 900
    assert result == {"order_id": "A-1001", "final": 874.8, "discount_rounds": 3}
