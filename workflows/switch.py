"""The `switch` runner: evaluates the value, tries each case in order, routes by the first match.

Runs in the workflow (no activity): a switch is a decision, like `condition`, and its
expressions see the workflow's clock, so replay decides alike.
"""

from __future__ import annotations

import json
from typing import Any

from segments.catalog import StepType
from segments.expressions import ExpressionError, to_plain_json
from segments.models import Step
from segments.step_configs.switch import SwitchConfig
from workflows.errors import StepFailure
from workflows.interpreter import Interpreter, StepOutcome


def _same(left: Any, right: Any) -> bool:
    """JSON equality: `1` equals `1.0`, but not `true`; key order does not count."""
    return json.dumps(to_plain_json(left), sort_keys=True) == json.dumps(to_plain_json(right), sort_keys=True)


async def run_switch(
    interp: Interpreter, step: Step, step_type: StepType, config: dict[str, Any], visit: int
) -> StepOutcome:
    switch = SwitchConfig.model_validate(config)

    def evaluate(field: str, expression: str) -> Any:
        try:
            return interp.evaluate(expression, step.step_id)
        except ExpressionError as err:
            raise StepFailure(
                step.step_id, step.type, f"{field}: {err.message}", "ExpressionError", interp.scope.path
            ) from None

    value = evaluate("value", switch.value) if switch.value is not None else None
    for index, case in enumerate(switch.cases):
        if case.when is None:
            if _same(value, case.equals):
                return StepOutcome({"port": case.port, "value": value}, case.port)
            continue
        matched = evaluate(f"cases[{index}].when", case.when)
        if matched is None:
            matched = False
        if not isinstance(matched, bool):
            raise StepFailure(
                step.step_id,
                step.type,
                f"cases[{index}].when must give true or false, but gave {type(matched).__name__} {matched!r}",
                "ExpressionError",
                interp.scope.path,
            )
        if matched:
            return StepOutcome({"port": case.port, "value": value}, case.port)
    return StepOutcome({"port": switch.default, "value": value}, switch.default)
