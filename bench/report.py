"""What a scenario reports: one JSON object, and rows of the final Markdown table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    metric: str
    engine: float
    handwritten: float | None
    ratio: float | None
    target: str = ""
    met: bool | None = None


@dataclass
class ScenarioResult:
    scenario: str
    data: dict[str, Any]
    """Measured figures: at least `engine`, `handwritten` and `ratio`."""
    rows: list[Row] = field(default_factory=list)

    def json_line(self) -> str:
        targets = {r.metric: {"target": r.target, "met": r.met} for r in self.rows if r.target}
        return json.dumps({"scenario": self.scenario, **self.data, "targets": targets}, sort_keys=False)


def ratio(engine: float, handwritten: float) -> float | None:
    return round(engine / handwritten, 3) if handwritten else None


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"


def markdown_table(results: list[ScenarioResult]) -> str:
    lines = [
        "| scenario | metric | engine | hand-written | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for result in results:
        for row in result.rows:
            met = "" if row.met is None else ("yes" if row.met else "**no**")
            lines.append(
                f"| {result.scenario} | {row.metric} | {_fmt(row.engine)} | {_fmt(row.handwritten)} "
                f"| {_fmt(row.ratio)} | {row.target} | {met} |"
            )
    return "\n".join(lines)
