"""Namespaces ready for segment runs: created, with the search attributes every run sets.

A run sets `SegmentId`, `TenantId` and `SegmentPhase` when it starts, so a namespace without them
refuses every start ("has no mapping defined for search attribute ..."). `segments namespace
create NAME` creates the namespace if needed and registers the three; `missing_setup` says what a
namespace lacks, for the worker's start-up check and the CLI's errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.search_attributes import ALL_KEYS

REQUIRED_ATTRIBUTES = tuple(key.name for key in ALL_KEYS)
DEFAULT_RETENTION = timedelta(days=3)
T = TypeVar("T")


def setup_hint(namespace: str) -> str:
    return f"create it, with the search attributes runs need, by: segments namespace create {namespace}"


async def namespace_exists(client: Client, namespace: str) -> bool:
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def missing_attributes(client: Client, namespace: str) -> list[str]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    known = set(listed.custom_attributes) | set(listed.system_attributes)
    return [name for name in REQUIRED_ATTRIBUTES if name not in known]


async def missing_setup(client: Client, namespace: str) -> str | None:
    """None when runs can start in `namespace`; otherwise what is missing and the command that fixes it."""
    if not await namespace_exists(client, namespace):
        return f"namespace '{namespace}' does not exist; {setup_hint(namespace)}"
    missing = await _until_known(lambda: missing_attributes(client, namespace))
    if missing:
        return (
            f"namespace '{namespace}' lacks the search attribute{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}; register {'them' if len(missing) > 1 else 'it'} by: "
            f"segments namespace create {namespace}"
        )
    return None


async def create_namespace(
    client: Client, namespace: str, retention: timedelta = DEFAULT_RETENTION
) -> list[str]:
    """Create `namespace` (if missing) and register the search attributes it lacks; returns what was done."""
    done: list[str] = []
    if not await namespace_exists(client, namespace):
        period = Duration()
        period.FromTimedelta(retention)
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=period)
        )
        done.append(f"created namespace '{namespace}'")
    missing = await _until_known(lambda: missing_attributes(client, namespace))
    if missing:
        request = AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes=dict.fromkeys(missing, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD),
        )
        await _until_known(lambda: client.operator_service.add_search_attributes(request))
        done.append(f"registered the search attributes {', '.join(missing)} (Keyword)")
    return done


async def _until_known(call: Callable[[], Awaitable[T]], seconds: float = 30.0) -> T:
    """A new namespace takes a while to reach every service of the cluster (each refreshes its
    namespace cache on its own clock): retry what answers NOT_FOUND until it is known."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            return await call()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND or loop.time() > deadline:
                raise
        await asyncio.sleep(0.5)
