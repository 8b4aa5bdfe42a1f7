"""The data that crosses the workflow/activity boundary.

Workflow code imports this module, so it holds plain dataclasses and constants only:
no I/O, nothing non-deterministic.

Every step that runs as an activity receives one `StepActivityInput` and returns its
output as a JSON object (a `dict`). A step activity signals failure by raising
`temporalio.exceptions.ApplicationError`:

- `non_retryable=True` for errors that another attempt cannot fix (a 404, a bad key,
  a response that does not match its schema after the model's bounded retries...);
- `type=` one of the `ERROR_*` names below, so that `on_error: route` and the audit
  can tell errors apart;
- `next_retry_delay=` when the remote side said how long to wait (`Retry-After`).

Temporal's retry policy (from the step's `retry`) is the only retry loop: SDK and
HTTP-client retries are switched off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Activity type names, as they appear in the Temporal Web UI.
TRANSFORM_ACTIVITY = "transform"
CAPTURE_ENV_ACTIVITY = "capture_env"
HTTP_ACTION_ACTIVITY = "http_action"
LLM_AGENT_ACTIVITY = "llm_agent"
LOAD_DEFINITION_ACTIVITY = "load_segment_definition"

# ApplicationError types raised by step activities.
ERROR_EXPRESSION = "ExpressionError"
ERROR_HTTP_STATUS = "HttpStatusError"
ERROR_HTTP_TRANSPORT = "HttpTransportError"
ERROR_EGRESS_DENIED = "EgressDenied"
ERROR_SCHEMA = "SchemaMismatch"
ERROR_RESPONSE_TOO_LARGE = "ResponseTooLarge"
ERROR_SECRET_MISSING = "SecretMissing"
ERROR_SECRET_NOT_BOUND = "SecretNotBound"
ERROR_LLM_PROVIDER = "LlmProviderError"
ERROR_CONFIG = "StepConfigError"
ERROR_CIRCUIT_OPEN = "CircuitOpen"
ERROR_RATE_LIMITED = "RateLimited"
ERROR_LLM_REFUSAL = "LlmRefusal"


@dataclass
class RunInfo:
    """Who is running: the `run` object that expressions see, plus ids for headers."""

    run_id: str
    """The root workflow id: stable across continue-as-new and shared by all branches."""
    segment_id: str
    tenant_id: str | None
    started_at: str
    """ISO 8601 (UTC) time at which the root run started."""


@dataclass
class StepActivityInput:
    """What a step activity receives.

    `config` has every `{% ... %}` template already rendered by the workflow, except
    in the fields the step type declares as expressions (a `transform`'s
    `expression`), which the activity evaluates against `context`.
    """

    step_id: str
    step_type: str
    config: dict[str, Any]
    run: RunInfo
    visit: int = 1
    task_path: str = ""
    """The branch path prefix inside parallel branches, e.g. `enrich[2]/`."""
    context: dict[str, Any] | None = None
    """The expression context (`input`, `steps`, `run`, `item`, `index`); only sent to
    steps that evaluate expressions themselves."""
    clock_ms: int = 0
    """The workflow's clock when the step was scheduled: `$now()` in activities."""
    random_seed: int = 0
    """Seed for `$random()` in activities, drawn from the workflow's replay-safe RNG."""
    env: dict[str, str] = field(default_factory=dict)
    """The `$env` values captured once for this run."""

    @property
    def step_key(self) -> str:
        """A key unique to this step visit of this run, the same on every retry.

        Used for `Idempotency-Key` headers and de-duplication."""
        return f"{self.run.run_id}/{self.task_path}{self.step_id}#{self.visit}"


@dataclass
class LoadDefinitionInput:
    """A `subworkflow` step asks for a stored definition (activities/definitions.py)."""

    segment_id: str
    version: str
    step_id: str
