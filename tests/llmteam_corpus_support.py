"""The llmteam corpus (tests/llmteam_corpus/, written by llmteam's own code: scripts/llmteam_corpus.py)
and a way to read a translation's expressions against one of llmteam's recorded runs.

`replay_step_inputs` evaluates, with this engine's expression evaluator, what each translated step
would send (an llm_agent's prompt, an http_action's body) given the outputs the recorded run's
earlier steps had, so a test can compare them with what llmteam's own runner sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from segments.dialects.llmteam import translate
from segments.expressions import EvalClock, evaluate, render

CORPUS = Path(__file__).parent / "llmteam_corpus"
VERSIONS = ("v2.0", "v2.3", "v5.3")


def exports() -> list[Path]:
    return sorted(p for p in CORPUS.glob("v*/*.json") if not p.name.endswith(".recording.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def recording(path: Path) -> dict[str, Any]:
    return load(path.with_name(path.stem + ".recording.json"))


def run_named(path: Path, scenario: str) -> dict[str, Any]:
    return next(r for r in recording(path)["runs"] if r["scenario"] == scenario)


_CLOCK = EvalClock.fixed(0, 0)


def _unwrap(expression: str) -> str:
    text = expression.strip()
    if text.startswith("{%") and text.endswith("%}") and text.count("{%") == 1:
        return text[2:-2].strip()
    return expression


class Walk:
    """Walk a translation along a path of steps, giving each the output this engine would have
    produced (llm text and http bodies taken from the recording, the rest evaluated)."""

    def __init__(self, export: dict[str, Any], run_input: Any) -> None:
        translation = translate(export)
        assert translation.definition is not None, translation.problems
        self.definition = translation.definition
        self.steps = {s["step_id"]: s for s in self.definition["steps"]}
        self.document: dict[str, Any] = {"input": run_input, "steps": {}, "run": {"run_id": "r"}}
        self.sent: dict[str, Any] = {}

    def _doc(self, prev_step: str | None) -> dict[str, Any]:
        return {**self.document, "prev_step": prev_step}

    def step(self, step_id: str, prev_step: str | None = None, **given: Any) -> Any:
        """Evaluate the step's config; `given` supplies what the outside world answered."""
        step = self.steps[step_id]
        config = step["config"]
        doc = self._doc(prev_step)
        kind = step["type"]
        if kind == "transform" or kind == "condition":
            output = evaluate(_unwrap(config["expression"]), doc, _CLOCK)
        elif kind == "llm_agent":
            self.sent[step_id] = render(config["prompt"], doc, _CLOCK)
            output = {"text": given["text"], "model": "stand-in"}
        elif kind == "http_action":
            self.sent[step_id] = render(config.get("body"), doc, _CLOCK)
            output = {"status": given.get("status", 200), "headers": {}, "body": given["body"]}
        elif kind == "human_task":
            output = {
                "decision": given["decision"],
                "responder": given.get("responder"),
                "comment": given.get("comment"),
            }
        elif kind == "switch":
            value = evaluate(_unwrap(config["value"]), doc, _CLOCK)
            port = config["default"]
            for case in config["cases"]:
                if "equals" in case and case["equals"] == value:
                    port = case["port"]
                    break
                if "when" in case and evaluate(_unwrap(case["when"]), {**doc}, _CLOCK) is True:
                    port = case["port"]
                    break
            output = {"port": port, "value": value}
        else:
            output = given.get("output")
        self.document["steps"][step_id] = {"output": output}
        return output

    def output(self) -> Any:
        return render(self.definition["output"], self._doc(None), _CLOCK)
