"""The identity of a definition: SHA-256 of its canonical JSON, so a run can say exactly what it ran."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def definition_hash(definition: Any) -> str:
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
