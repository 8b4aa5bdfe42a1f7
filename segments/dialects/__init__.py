"""Other canvas formats the engine accepts unchanged, recognised and translated into its own.

`detect_dialect` only looks; `segments.dialects.loader.load_definition` translates. Both are
pure and deterministic, so the workflow may call them.
"""

from __future__ import annotations

from typing import Any

LLMTEAM = "llmteam"


def detect_dialect(data: Any) -> str | None:
    """`"llmteam"` for an llmteam SegmentDefinition/WorkflowDefinition export, else None.

    llmteam writes edges as `from`/`to` (never `source`/`target`), names the definition
    `workflow_id` (5.x) and gives every step its `ports`; any one of these marks the dialect,
    provided nothing of this engine's own edge shape is there."""
    if not isinstance(data, dict):
        return None
    edges = data.get("edges")
    edge_list = edges if isinstance(edges, list) else []
    ours = any(isinstance(e, dict) and ("source" in e or "target" in e) for e in edge_list)
    if ours:
        return None
    theirs = any(isinstance(e, dict) and ("from" in e or "to" in e) for e in edge_list)
    steps = data.get("steps")
    ported = (
        isinstance(steps, list)
        and bool(steps)
        and all(isinstance(s, dict) and isinstance(s.get("ports"), dict) for s in steps)
    )
    if theirs or ported or ("workflow_id" in data and "segment_id" not in data):
        return LLMTEAM
    return None
