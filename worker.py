"""The worker: the composition root that wires workflows, activities, settings and the catalog.

Run it with `python worker.py` from the repository root (with the project installed). Settings
come from flags and environment variables: see `python worker.py --help` and the README.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.plugin import SimplePlugin
from temporalio.worker import Interceptor as WorkerInterceptor
from temporalio.worker import ReplayerConfig, Worker, WorkerConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.connections import Endpoints
from activities.definitions import DefinitionStore
from activities.egress import EgressGuard
from activities.functions import StepRegistry, load_plugins
from activities.heartbeat import HeartbeatInterceptor
from activities.http_action import HttpActions
from activities.http_settings import HttpSettings
from activities.llm.activity import LlmActivities
from activities.notify.activity import NotifyActivities
from activities.notify.settings import NotifySettings
from activities.secrets import EnvSecretProvider
from activities.transform import EnvCapture, transform
from client.namespaces import missing_setup
from client.settings import ConnectionSettings
from client.tracing import worker_interceptors
from segments.builtin_types import default_catalog
from segments.catalog import Catalog
from workflows import catalogs
from workflows.branch_workflow import SegmentBranchWorkflow
from workflows.segment_workflow import SegmentWorkflow

log = logging.getLogger("segments.worker")

PURE_PACKAGES = ("segments", "activities", "jsonata", "jsonschema", "referencing", "re2")
"""Packages whose code workflows run but which define no workflow: the pure language (and the
activities' contracts) and the libraries it evaluates with. They are loaded once, outside the
sandbox; inside it, jsonata and jsonschema would be re-imported per run and behave differently
under its restrictions. Workflow modules pass their own imports through with
`workflow.unsafe.imports_passed_through()`."""

WORKFLOWS: Sequence[type] = (SegmentWorkflow, SegmentBranchWorkflow)


@dataclass
class WorkerComponents:
    """Everything one worker process runs: its catalog and its activities."""

    catalog: Catalog = field(default_factory=default_catalog)
    activities: list[Callable[..., Any]] = field(default_factory=list)
    closers: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def registry(self) -> StepRegistry:
        """Where function step types are added: into this worker's catalog and activities."""
        return StepRegistry(self.catalog, self.activities)


def build_components(plugins: list[str] | None = None) -> WorkerComponents:
    """The standard set: every built-in step type with the activities behind it, plus the step
    types of the plugin modules (`SEGMENTS_PLUGINS` unless `plugins` is given)."""
    components = WorkerComponents()
    components.activities += [transform, EnvCapture().capture_env]
    http_settings = HttpSettings.from_env()
    endpoints = Endpoints.from_env()
    components.catalog.set_endpoint_names(endpoints.connection_names(), endpoints.model_names())
    http = HttpActions(EnvSecretProvider(), http_settings, endpoints=endpoints)
    llm = LlmActivities(endpoints=endpoints)
    components.activities += [http.http_action, llm.llm_agent]
    components.closers += [http.aclose, llm.aclose]
    # human_task notifications: one outbound path with the same egress guard as http_action
    notify = NotifyActivities(
        EnvSecretProvider(), NotifySettings.from_env(), EgressGuard(http_settings.allow)
    )
    components.activities.append(notify.notify)
    components.closers.append(notify.aclose)
    components.activities.append(DefinitionStore.from_env().load_segment_definition)
    load_plugins(components.registry, plugins)
    return components


class SegmentsPlugin(SimplePlugin):
    """Everything a segments worker runs, as one temporalio plugin: the workflows, this worker's
    activities, the heartbeat and tracing interceptors, and the sandbox. Used by `create_worker`,
    by tests and benches, and by the `Replayer` (which then replays against this catalog).

    The sandbox needs no hand-kept list: workflow modules import the pure code they use inside
    `workflow.unsafe.imports_passed_through()`, so it is loaded once, not once per run."""

    def __init__(
        self,
        components: WorkerComponents | None = None,
        interceptors: Sequence[WorkerInterceptor] | None = None,
    ) -> None:
        self.components = components or build_components()
        given = [HeartbeatInterceptor(), *worker_interceptors()] if interceptors is None else interceptors
        super().__init__(
            "segments.SegmentsPlugin",
            workflows=list(WORKFLOWS),
            activities=self.components.activities,
            interceptors=list(given),
            workflow_runner=SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(*PURE_PACKAGES)
            ),
        )
        self._queues: list[str] = []

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        config = super().configure_worker(config)
        catalogs.register(config["task_queue"], self.components.catalog)
        self._queues.append(config["task_queue"])
        return config

    def configure_replayer(self, config: ReplayerConfig) -> ReplayerConfig:
        catalogs.use_for_replay(self.components.catalog)
        return super().configure_replayer(config)

    async def run_worker(self, worker: Worker, next: Callable[[Worker], Awaitable[None]]) -> None:
        try:
            await super().run_worker(worker, next)
        finally:
            for queue in self._queues:
                catalogs.unregister(queue, self.components.catalog)

    async def aclose(self) -> None:
        """Closes the activities' HTTP clients."""
        for close in self.components.closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def create_worker(
    client: Client,
    task_queue: str,
    components: WorkerComponents | None = None,
    *,
    plugin: SegmentsPlugin | None = None,
    **worker_options: Any,
) -> Worker:
    """A worker with `SegmentsPlugin` (built from `components`, unless `plugin` is given)."""
    # everything loaded so far lives as long as the process: keep it out of the collector's full
    # passes, which stop every thread (the event loop too) for as long as they scan
    gc.freeze()
    plugin = plugin or SegmentsPlugin(components, worker_options.pop("interceptors", None))
    # heartbeats reach the server at most this often: cancellations arrive within about a second
    worker_options.setdefault("max_heartbeat_throttle_interval", timedelta(seconds=1))
    worker_options.setdefault("default_heartbeat_throttle_interval", timedelta(seconds=1))
    return Worker(
        client,
        task_queue=task_queue,
        plugins=[plugin, *worker_options.pop("plugins", [])],
        graceful_shutdown_timeout=timedelta(seconds=30),
        **worker_options,
    )


@contextlib.asynccontextmanager
async def running_worker(
    client: Client, task_queue: str, components: WorkerComponents | None = None, **worker_options: Any
) -> AsyncIterator[Worker]:
    """A worker polling `task_queue` for the duration of the block (tests, examples, benches)."""
    plugin = SegmentsPlugin(components, worker_options.pop("interceptors", None))
    worker = create_worker(client, task_queue, plugin=plugin, **worker_options)
    try:
        async with worker:
            yield worker
    finally:
        await plugin.aclose()


async def serve(settings: ConnectionSettings) -> None:
    client = await settings.connect()
    missing = await missing_setup(client, settings.namespace)
    if missing:  # better said now than as a failure of every run's first workflow task
        raise RuntimeError(missing)
    plugin = SegmentsPlugin()
    worker = create_worker(client, settings.task_queue, plugin=plugin)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker polling task queue '%s' on %s (namespace %s); step types: %s",
        settings.task_queue,
        settings.address,
        settings.namespace,
        ", ".join(plugin.components.catalog.type_ids),
    )
    run_task = asyncio.create_task(worker.run())
    await stop.wait()
    log.info("stopping: running activities get up to 30 s to finish")
    await worker.shutdown()
    await run_task
    await plugin.aclose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a SegmentWorkflow worker.")
    ConnectionSettings.add_arguments(parser)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = ConnectionSettings.from_env().with_arguments(args)
    try:
        asyncio.run(serve(settings))
    except RuntimeError as err:  # connection refused and the like, reported plainly
        raise SystemExit(f"worker: {err}") from None


if __name__ == "__main__":
    main()
