"""Everything a run of a segment starts with, whoever starts it: the client, a schedule, a trigger.

The workflow input, the search attributes (`SegmentId`, `TenantId`, `SegmentPhase`), the memo
pinning the definition (`segment_version`, `segment_hash`) and the Web UI's static summary and
details. One place, so that a scheduled or triggered run looks exactly like a started one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from segments.dialects.loader import load_definition
from segments.hashing import definition_hash
from workflows.contract import SEGMENT_WORKFLOW, RunRequest
from workflows.run_details import static_details, static_summary
from workflows.search_attributes import SEGMENT_ID, SEGMENT_PHASE, TENANT_ID

WORKFLOW_TYPE = SEGMENT_WORKFLOW


@dataclass(frozen=True)
class Launch:
    segment_id: str
    request: dict[str, Any]
    search_attributes: TypedSearchAttributes
    memo: dict[str, Any]
    static_summary: str
    static_details: str


def launch_for(
    definition: dict[str, Any], run_input: Any, tenant_id: str | None, options: dict[str, int] | None = None
) -> Launch:
    """`options`: the run's long-run bounds, checked by the caller (client.api.check_run_options).

    An export in another dialect (llmteam) runs as its translation; the memo keeps the original's hash."""
    memo: dict[str, Any] = {
        "segment_version": definition.get("version"),
        "segment_hash": definition_hash(definition),
    }
    loaded = load_definition(definition)
    if loaded.dialect is not None and loaded.definition is not None:
        memo.update(loaded.memo(), translation_hash=definition_hash(loaded.definition))
        definition = loaded.definition
    segment_id = str(definition.get("segment_id", "segment"))
    request = RunRequest(
        definition, run_input if run_input is not None else {}, tenant_id or None, options or None
    ).to_wire()
    attributes: list[SearchAttributePair[str]] = [
        SearchAttributePair(SEGMENT_ID, segment_id),
        SearchAttributePair(SEGMENT_PHASE, "running"),
    ]
    if tenant_id:
        attributes.append(SearchAttributePair(TENANT_ID, tenant_id))
    segment_hash = memo["segment_hash"]
    return Launch(
        segment_id=segment_id,
        request=request,
        search_attributes=TypedSearchAttributes(attributes),
        memo=memo,
        static_summary=static_summary(definition, tenant_id),
        static_details=static_details(definition, tenant_id, segment_hash),
    )
