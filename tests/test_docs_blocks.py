"""The rules the documentation tests read Markdown by (tests/docs_blocks.py), on small documents."""

from pathlib import Path

from tests.docs_blocks import output_matches, read_blocks

DOCUMENT = """# Title

```bash
segments validate broken.json
```

```text
steps[0].type: unknown step type
```

Not run by the test suite: needs a Docker engine.

```bash
docker compose up
```

```bash exit=1 timeout=30
segments validate tests/invalid/five_mistakes.json
```

It prints:

```text
5 problems
```

A diagram:

```text
a -> b
```

```yaml
key: value
```
"""


def test_blocks_are_classified_as_the_rules_say(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text(DOCUMENT)
    blocks = read_blocks(path)
    assert [block.kind for block in blocks] == [
        "command",
        "output",
        "not run",
        "command",
        "output",
        "illustration",
        "unknown",
    ]
    assert blocks[0].expected_output is blocks[1]
    assert blocks[2].not_run == "needs a Docker engine"
    assert blocks[3].options == {"exit": "1", "timeout": "30"}
    assert blocks[3].expected_output is blocks[4]
    assert blocks[0].line == 3


def test_output_lines_are_found_in_order_with_wildcards() -> None:
    actual = (
        'started pricing_loop-1a2b\nWeb UI: http://x/workflows/pricing_loop-1a2b\n{\n  "final": 874.8\n}\n'
    )
    assert output_matches('Web UI: http://x/workflows/pricing_loop-...\n"final": 874.8', actual) is None
    assert output_matches('"final": 874.8\nstarted ...', actual) == "started ..."
    assert output_matches('"final": 1', actual) == '"final": 1'
