"""Stored definitions for `segment_ref`: `<definitions_dir>/<segment_id>/<version>.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import HTTPException, status

from gateway.models import SegmentRef


def load_definition(directory: Path | None, ref: SegmentRef) -> dict[str, Any]:
    """The stored definition; the model's id pattern keeps the path inside `directory`."""
    if directory is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "this gateway stores no definitions; send the 'segment' itself"
        )
    path = directory / ref.segment_id / f"{ref.version}.json"
    missing = HTTPException(
        status.HTTP_404_NOT_FOUND, f"no stored segment '{ref.segment_id}' version '{ref.version}'"
    )
    if ".." in ref.segment_id or ".." in ref.version or not path.is_file():
        raise missing
    try:
        definition = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise missing from None
    if not isinstance(definition, dict):
        raise missing
    return definition
