"""Where an `http_action` goes: its own `url` and `auth`, or a connection's base URL and auth.

A connection's URL is its base URL joined with the step's relative `path`, checked again here
(after templates were rendered) so that the path never leaves the base URL's scheme, host, port
and path. A connection refused to the run's tenant, or not configured on this worker, fails the
step without retries, naming the setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from temporalio.exceptions import ApplicationError

from activities.connections import CONNECTION_PREFIX, Endpoints
from activities.contracts import ERROR_CONFIG, StepActivityInput
from activities.secret_binding import HostPattern, default_port, normalize_host
from segments.connection_paths import PathRefused, join_url
from segments.step_configs.http_action import HttpAuth

ERROR_CONNECTION = "ConnectionRefused"


@dataclass
class Target:
    url: str
    auth: HttpAuth
    headers: dict[str, str] = field(default_factory=dict)
    """The connection's own headers: treated like credentials (redacted, dropped off-origin)."""
    connection: str | None = None
    grant: tuple[HostPattern, ...] = ()
    """The connection's base URL host (and port): its secret may go there, bound or not."""


def connection_target(endpoints: Endpoints, name: str, path: str, step: StepActivityInput) -> Target:
    connection = endpoints.connection(name)
    if connection is None:
        known = ", ".join(endpoints.connection_names()) or "none"
        raise ApplicationError(
            f"step '{step.step_id}': connection '{name}' is not configured on this worker; set "
            f"{CONNECTION_PREFIX}{name.upper()} (connections here: {known})",
            type=ERROR_CONFIG,
            non_retryable=True,
        )
    if not connection.allows_tenant(step.run.tenant_id):
        raise ApplicationError(
            f"step '{step.step_id}': connection '{connection.name}' is not open to tenant "
            f"'{step.run.tenant_id or '(none)'}' (its `tenants` in {CONNECTION_PREFIX}{name.upper()})",
            type=ERROR_CONNECTION,
            non_retryable=True,
        )
    try:
        url = join_url(connection.base_url, path)
    except PathRefused as err:
        raise ApplicationError(
            f"step '{step.step_id}': config.path of connection '{connection.name}': {err}",
            type=ERROR_CONNECTION,
            non_retryable=True,
        ) from None
    base = httpx.URL(connection.base_url)
    grant = (HostPattern(normalize_host(base), default_port(base)),)
    return Target(url, connection.auth, dict(connection.headers), connection.name, grant)
