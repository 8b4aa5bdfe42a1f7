"""The Python API: validate, start, watch and control segment runs on Temporal.

client = await SegmentsClient.connect()            # TEMPORAL_* settings from the environment
problems = client.validate(definition)             # [] when valid
handle = await client.start(definition, {"order": ...}, tenant_id="acme")
print(await client.status(handle.id))
print(await client.result(handle.id))
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any, cast

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from activities.connections import Endpoints
from activities.functions import StepRegistry, load_plugins
from client.launch import launch_for
from client.settings import ConnectionSettings
from segments.builtin_types import default_catalog
from segments.catalog import Catalog
from segments.dialects.loader import validate_any
from segments.validation import InvalidSegment, Problem
from workflows.continue_as_new import MIN_BOUND, RUN_OPTIONS
from workflows.contract import (
    ANSWER_INVALID,
    PAUSE_SIGNAL,
    REFUSAL_TYPES,
    RESPOND,
    RESUME_SIGNAL,
    SEGMENT_WORKFLOW,
    STATUS_QUERY,
    ClosedTaskView,
    Refusal,
    RunStatus,
    TaskAnswer,
    parse_answer,
)
from workflows.search_attributes import SEGMENT_ID, SEGMENT_PHASE, TENANT_ID

WORKFLOW_TYPE = SEGMENT_WORKFLOW
DEFAULT_UI_URL = "http://localhost:8233"


def load_catalog(plugins: list[str] | None = None) -> Catalog:
    """The built-in step types plus those of the plugin modules (as the worker loads them), and the
    names of the connections and model refs configured in this environment (as the worker reads them)."""
    catalog = default_catalog()
    load_plugins(StepRegistry(catalog), plugins)
    endpoints = Endpoints.from_env()
    catalog.set_endpoint_names(endpoints.connection_names(), endpoints.model_names())
    return catalog


@dataclass
class RunSummary:
    run_id: str
    segment_id: str | None
    tenant_id: str | None
    phase: str | None
    status: str
    started_at: str | None


class SegmentsClient:
    def __init__(
        self, client: Client, task_queue: str, catalog: Catalog | None = None, ui_url: str | None = None
    ) -> None:
        self.temporal = client
        self.task_queue = task_queue
        self.catalog = catalog or load_catalog()
        self.ui_url = (ui_url or os.environ.get("TEMPORAL_UI_URL") or DEFAULT_UI_URL).rstrip("/")

    @classmethod
    async def connect(
        cls, settings: ConnectionSettings | None = None, data_converter: DataConverter | None = None
    ) -> SegmentsClient:
        settings = settings or ConnectionSettings.from_env()
        client = await settings.connect(data_converter)
        return cls(client, settings.task_queue)

    # --- definitions -----------------------------------------------------------------

    def validate(self, definition: Any) -> list[Problem]:
        """Every problem, for this engine's format or an llmteam export (at the export's paths)."""
        return validate_any(definition, self.catalog)

    def export_catalog(self) -> dict[str, Any]:
        return self.catalog.export_for_ui()

    # --- runs ------------------------------------------------------------------------

    async def start(
        self,
        definition: dict[str, Any],
        run_input: Any = None,
        *,
        tenant_id: str | None = None,
        run_id: str | None = None,
        validate: bool = True,
        options: dict[str, int] | None = None,
    ) -> WorkflowHandle[Any, Any]:
        """Start a run. Invalid definitions raise InvalidSegment here, before anything starts.

        `run_id` (the workflow id) makes the start idempotent: starting the same id again while
        it runs fails with WorkflowAlreadyStartedError instead of starting a second run.
        `options` are the run's long-run bounds (see `check_run_options`)."""
        if options:
            check_run_options(options)
        if validate:
            problems = self.validate(definition)
            if problems:
                raise InvalidSegment(
                    definition.get("segment_id") if isinstance(definition, dict) else None, problems
                )
        launch = launch_for(definition, run_input, tenant_id, options)
        return await self.temporal.start_workflow(
            SEGMENT_WORKFLOW,
            launch.request,
            id=run_id or f"{launch.segment_id}-{uuid.uuid4().hex[:12]}",
            task_queue=self.task_queue,
            search_attributes=launch.search_attributes,
            memo=launch.memo,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=launch.static_summary,
            static_details=launch.static_details,
        )

    async def run(self, definition: dict[str, Any], run_input: Any = None, **kwargs: Any) -> Any:
        handle = await self.start(definition, run_input, **kwargs)
        return await handle.result()

    def handle(self, run_id: str) -> WorkflowHandle[Any, Any]:
        return self.temporal.get_workflow_handle(run_id)

    async def result(self, run_id: str) -> Any:
        return await self.handle(run_id).result()

    async def status(self, run_id: str) -> RunStatus:
        """The run's `status` query (a closed run answers it too, from its last state)."""
        status: RunStatus = await self.handle(run_id).query(STATUS_QUERY)
        return status

    async def pause(self, run_id: str) -> None:
        await self.handle(run_id).signal(PAUSE_SIGNAL)

    async def resume(self, run_id: str) -> None:
        await self.handle(run_id).signal(RESUME_SIGNAL)

    async def cancel(self, run_id: str) -> None:
        await self.handle(run_id).cancel()

    async def tasks(self, run_id: str) -> list[dict[str, Any]]:
        """The run's open human tasks (its branches' too), from the `status` query."""
        return [dict(task) for task in (await self.status(run_id)).get("open_tasks", [])]

    async def respond(self, run_id: str, task_id: str, responder: str, **answer: Any) -> dict[str, Any]:
        """Answers a task through the `respond` update (`contract.TaskAnswer`); returns the accepted
        answer. A refusal raises `temporalio.client.WorkflowUpdateFailedError`; `refusal_of` reads
        its kind and reason."""
        given = {k: v for k, v in answer.items() if v is not None}
        raw = {"task_id": task_id, "responder": responder, **given}
        parsed = parse_answer(raw)  # a malformed answer goes as given: the run refuses it, with why
        payload = parsed.to_payload() if isinstance(parsed, TaskAnswer) else raw
        accepted: dict[str, Any] = await self.handle(run_id).execute_update(RESPOND, payload)
        return accepted

    async def list_runs(
        self,
        *,
        segment_id: str | None = None,
        tenant_id: str | None = None,
        phase: str | None = None,
        limit: int = 50,
    ) -> list[RunSummary]:
        clauses = [f"WorkflowType = '{WORKFLOW_TYPE}'"]
        for key, value in (("SegmentId", segment_id), ("TenantId", tenant_id), ("SegmentPhase", phase)):
            if value:
                if any(ord(char) < 32 or ord(char) == 127 for char in value):
                    raise ValueError(f"the {key} filter may not contain control characters")
                clauses.append(f"{key} = {_quote(value)}")
        runs: list[RunSummary] = []
        async for execution in self.temporal.list_workflows(" AND ".join(clauses), limit=limit):
            attrs = execution.typed_search_attributes
            status = execution.status.name.lower() if execution.status else "unknown"
            runs.append(
                RunSummary(
                    run_id=execution.id,
                    segment_id=attrs.get(SEGMENT_ID),
                    tenant_id=attrs.get(TENANT_ID),
                    phase=attrs.get(SEGMENT_PHASE),
                    status=status if execution.status != WorkflowExecutionStatus.RUNNING else "running",
                    started_at=execution.start_time.isoformat() if execution.start_time else None,
                )
            )
        return runs

    def web_ui_link(self, run_id: str) -> str:
        return f"{self.ui_url}/namespaces/{self.temporal.namespace}/workflows/{run_id}"


def check_run_options(options: dict[str, Any]) -> None:
    """A run's `options`: when it continues as new (see workflows/continue_as_new.py). Raises
    ValueError naming the option and what it takes."""
    for key, value in options.items():
        if key not in RUN_OPTIONS:
            raise ValueError(f"unknown run option '{key}'; known: {', '.join(RUN_OPTIONS)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < MIN_BOUND:
            raise ValueError(
                f"run option '{key}' takes a whole number of at least {MIN_BOUND}, not {value!r}"
            )


def refusal_of(err: WorkflowUpdateFailedError) -> Refusal:
    """Why the run refused an answer, and which kind of refusal (`contract.REFUSAL_TYPES`)."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        kind = cause.type if cause.type in REFUSAL_TYPES else ANSWER_INVALID
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else None
        return Refusal(kind or ANSWER_INVALID, cause.message, cast(ClosedTaskView | None, details))
    return Refusal(ANSWER_INVALID, str(cause or err))


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
