"""Regenerate tests/llmteam_corpus/ with llmteam's own code (run by hand, never by CI).

For each llmteam-ai version, a throwaway virtualenv OUTSIDE the repository gets that version from
the package index; scripts/llmteam_corpus_build.py then runs inside it, writing each definition
with llmteam's `to_dict()` and a recording of what llmteam's runner did with each scenario.

    python scripts/llmteam_corpus.py [--venvs DIR]     # DIR defaults to a fresh temporary directory
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

VERSIONS = {"v2.0": "2.0.0", "v2.3": "2.3.0", "v5.3": "5.3.0"}
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "llmteam_corpus"
BUILDER = ROOT / "scripts" / "llmteam_corpus_build.py"


def venv_python(base: Path, version: str) -> Path:
    target = base / f"llmteam-{version}"
    python = target / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"llmteam-ai=={version}"], check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venvs", type=Path, help="where the throwaway virtualenvs live (kept between runs)")
    args = parser.parse_args()
    base = args.venvs or Path(tempfile.mkdtemp(prefix="llmteam-corpus-"))
    if ROOT in base.resolve().parents:
        raise SystemExit("the virtualenvs must live outside the repository")
    for folder, version in VERSIONS.items():
        python = venv_python(base, version)
        print(f"llmteam-ai {version} -> {OUT / folder}", flush=True)
        subprocess.run([str(python), str(BUILDER), str(OUT / folder)], check=True)


if __name__ == "__main__":
    main()
