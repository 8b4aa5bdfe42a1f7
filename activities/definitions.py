"""The `load_segment_definition` activity: a stored definition for a `subworkflow` step.

Definitions are read from `SEGMENTS_DEFINITIONS_DIR/<segment_id>/<version>.json`, the layout the
gateway stores (`SEGMENTS_GATEWAY_DEFINITIONS_DIR`): point both at one directory. Read by an
activity, so the definition a run used is in its history and replay never reads the disk.
The result also carries the worker's nesting bound, `SEGMENTS_SUBWORKFLOW_MAX_DEPTH` (default 5).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_CONFIG, LOAD_DEFINITION_ACTIVITY, LoadDefinitionInput
from segments.step_configs.subworkflow import SegmentRef

DIR_SETTING = "SEGMENTS_DEFINITIONS_DIR"
DEPTH_SETTING = "SEGMENTS_SUBWORKFLOW_MAX_DEPTH"
DEFAULT_MAX_DEPTH = 5
MAX_DEFINITION_BYTES = 2 * 1024 * 1024
ERROR_NOT_FOUND = "DefinitionNotFound"


@dataclass(frozen=True)
class DefinitionStore:
    directory: Path | None
    max_depth: int = DEFAULT_MAX_DEPTH

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DefinitionStore:
        env = environ if environ is not None else os.environ
        directory = env.get(DIR_SETTING)
        depth = env.get(DEPTH_SETTING, str(DEFAULT_MAX_DEPTH))
        if not depth.isdigit() or not 1 <= int(depth) <= 50:
            raise ValueError(f"{DEPTH_SETTING} must be a whole number from 1 to 50")
        return cls(Path(directory) if directory else None, int(depth))

    @activity.defn(name=LOAD_DEFINITION_ACTIVITY)
    async def load_segment_definition(self, request: LoadDefinitionInput) -> dict[str, Any]:
        """`{"definition": {...}, "max_depth": n}`; a missing or unreadable one fails without retries."""
        ref = SegmentRef(segment_id=request.segment_id, version=request.version)  # the path stays inside
        where = f"step '{request.step_id}': segment_ref {ref.key}"
        if self.directory is None:
            raise ApplicationError(
                f"{where}: this worker has no definitions store; set {DIR_SETTING}",
                type=ERROR_CONFIG,
                non_retryable=True,
            )
        path = self.directory / ref.segment_id / f"{ref.version}.json"
        if not path.is_file():
            raise ApplicationError(
                f"{where}: no stored definition {ref.segment_id}/{ref.version}.json in {DIR_SETTING}",
                type=ERROR_NOT_FOUND,
                non_retryable=True,
            )
        if path.stat().st_size > MAX_DEFINITION_BYTES:
            raise ApplicationError(
                f"{where}: the stored definition is larger than {MAX_DEFINITION_BYTES} bytes",
                type=ERROR_CONFIG,
                non_retryable=True,
            )
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise ApplicationError(
                f"{where}: the stored definition is not readable JSON ({type(err).__name__})",
                type=ERROR_CONFIG,
                non_retryable=True,
            ) from None
        if not isinstance(definition, dict):
            raise ApplicationError(
                f"{where}: the stored definition is not a JSON object", type=ERROR_CONFIG, non_retryable=True
            )
        activity.logger.info("%s: loaded %s", where, path.name)
        return {"definition": definition, "max_depth": self.max_depth}
