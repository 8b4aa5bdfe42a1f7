"""The worker as one plugin: each worker keeps its own step catalog, looked up by task queue."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.contracts import StepActivityInput
from tests.conftest import start_segment
from worker import build_components, running_worker
from workflows.errors import INVALID_SEGMENT


class Empty(BaseModel):
    pass


def shout(config: Empty, step: StepActivityInput) -> str:
    return "HEY"


SEGMENT = {"segment_id": "shouting", "steps": [{"step_id": "s", "type": "shout"}], "edges": []}


async def test_two_workers_in_one_process_each_keep_their_catalog(client: Client) -> None:
    with_shout = build_components(plugins=[])
    with_shout.registry.add_function_step("shout", shout, Empty)
    loud, quiet = f"loud-{uuid.uuid4().hex[:6]}", f"quiet-{uuid.uuid4().hex[:6]}"
    async with running_worker(client, loud, with_shout), running_worker(client, quiet, build_components([])):
        assert await (await start_segment(client, loud, SEGMENT)).result() == {"s": "HEY"}
        with pytest.raises(WorkflowFailureError) as info:
            await (await start_segment(client, quiet, SEGMENT)).result()
        cause = info.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == INVALID_SEGMENT
        assert "unknown step type" in cause.message
        # the first worker's catalog was not replaced by the second one's
        assert await (await start_segment(client, loud, SEGMENT)).result() == {"s": "HEY"}


async def test_a_second_worker_on_the_same_queue_with_another_catalog_is_refused(client: Client) -> None:
    queue = f"same-{uuid.uuid4().hex[:6]}"
    async with running_worker(client, queue, build_components(plugins=[])):
        with pytest.raises(ValueError, match="already polls task queue"):
            async with running_worker(client, queue, build_components(plugins=[])):
                pass
    async with running_worker(client, queue, build_components(plugins=[])):  # free again once stopped
        result: Any = await (
            await start_segment(
                client,
                queue,
                {
                    "segment_id": "t",
                    "steps": [{"step_id": "t", "type": "transform", "config": {"expression": "1"}}],
                    "edges": [],
                },
            )
        ).result()
        assert result == {"t": 1}
