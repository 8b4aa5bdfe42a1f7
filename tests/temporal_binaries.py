"""Where the pip-installed `temporal` CLI and time-skipping test server live."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_binary(name: str) -> str:
    """The binary next to this interpreter (installed by pip into the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"'{name}' is not installed; run: pip install -e '.[test]'")
    return found
