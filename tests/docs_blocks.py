"""The code blocks of the README and docs/, as the documentation tests read them.

Every fenced block is one of:
- a command block (`bash`, `sh`): run as written, in document order, in one shell per file, so
  variables set by one block (`RUN_ID=$(segments start ...)`) are there for the next;
- a Python block (`python`): run as a script at its place in that order;
- an output block (`text` right after a command block, or after it and a paragraph that ends in
  "prints:"): what that command prints, checked line by
  line (`...` stands for any text within a line; lines the text leaves out may come in between);
- a JSON block (`json`): parsed, and validated when it is a whole definition;
- an illustration (`text` elsewhere, `mermaid`): shown, not run;
- a block the tests cannot run here: the paragraph right before it says so, visibly, with
  `Not run by the test suite: <reason>.`

The info string after the language may carry `exit=N` (the exit code a command block must end
with, when that is not 0). Any other language fails the test that accounts for every block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).parent.parent
COMMAND_LANGUAGES = {"bash", "sh"}
NOT_RUN = re.compile(r"Not run by the test suite: ([^\n]+?)\.?\*?_?$", re.MULTILINE)


@dataclass
class Block:
    path: Path
    line: int
    language: str
    options: dict[str, str]
    text: str
    not_run: str | None
    """The visible reason the tests do not run it, or None."""
    expected_output: Block | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str:
        if self.not_run:
            return "not run"
        if self.language in COMMAND_LANGUAGES:
            return "command"
        if self.language == "python":
            return "python"
        if self.language == "json":
            return "json"
        if self.language in ("text", "mermaid"):
            return "output" if self.is_output else "illustration"
        return "unknown"

    is_output: bool = False


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def read_blocks(path: Path) -> list[Block]:
    tokens = MarkdownIt().parse(path.read_text())
    blocks: list[Block] = []
    previous_paragraph = ""
    previous_token_was_fence = False
    for token in tokens:
        if token.type == "inline":
            previous_paragraph = token.content
            # "It prints:" between a command and a `text` block keeps the text as its output
            says_output = token.content.rstrip().endswith(":") and "print" in token.content.lower()
            previous_token_was_fence = previous_token_was_fence and says_output
            continue
        if token.type != "fence":
            continue
        words = token.info.split()
        language = words[0] if words else ""
        options = dict(word.split("=", 1) for word in words[1:] if "=" in word)
        match = NOT_RUN.search(previous_paragraph)
        block = Block(
            path=path,
            line=(token.map[0] + 1) if token.map else 0,
            language=language,
            options=options,
            text=token.content,
            not_run=match.group(1) if match else None,
        )
        last = blocks[-1] if blocks else None
        if language == "text" and previous_token_was_fence and last is not None and last.kind == "command":
            block.is_output = True
            last.expected_output = block
        blocks.append(block)
        previous_paragraph = ""
        previous_token_was_fence = True
    return blocks


def output_matches(expected: str, actual: str) -> str | None:
    """None when every expected line appears in `actual`, in order; otherwise the first one missing."""
    lines = actual.splitlines()
    position = 0
    for wanted in (line.rstrip() for line in expected.splitlines()):
        if not wanted.strip():
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in wanted.strip().split("...")))
        while position < len(lines) and not pattern.search(lines[position]):
            position += 1
        if position == len(lines):
            return wanted
        position += 1
    return None
