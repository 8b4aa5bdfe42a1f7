"""Worker-side secrets: resolved by name inside activities, never passed through a workflow.

A segment names a secret (`"auth": {"secret": "ERP_TOKEN"}`); the worker resolves that name
when the activity runs. The value never enters workflow history, expressions, logs or errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_SECRET_MISSING
from activities.secret_binding import SecretBinding, binding_from_env

SECRET_ENV_PREFIX = "SEGMENTS_SECRET_"


class SecretProvider(Protocol):
    """Resolves a secret's name to its value (None when it does not know the name), and says
    where the secret may go (`activities.secret_binding`)."""

    def get(self, name: str) -> str | None: ...

    def binding(self, name: str) -> SecretBinding: ...


class EnvSecretProvider:
    """The default provider: secret `ERP_TOKEN` is read from `SEGMENTS_SECRET_ERP_TOKEN`."""

    def __init__(self, environ: Mapping[str, str] | None = None, prefix: str = SECRET_ENV_PREFIX) -> None:
        self._environ = environ if environ is not None else os.environ
        self._prefix = prefix

    def get(self, name: str) -> str | None:
        return self._environ.get(self._prefix + name)

    def binding(self, name: str) -> SecretBinding:
        """From `SEGMENTS_SECRET_<NAME>_HOSTS` and `SEGMENTS_SECRET_<NAME>_TENANTS`."""
        return binding_from_env(self._environ, self._prefix, name)


def require_secret(provider: SecretProvider, name: str, *, step_id: str, field: str) -> str:
    """The secret's value, or a non-retryable error that names the step and field but not the value."""
    value = provider.get(name)
    if value is None:
        raise ApplicationError(
            f"step '{step_id}': {field} names secret '{name}', which this worker does not have; "
            f"set {SECRET_ENV_PREFIX}{name} in the worker's environment",
            type=ERROR_SECRET_MISSING,
            non_retryable=True,
        )
    return value
