"""Connections and model refs: named endpoints and models configured on the worker.

- `SEGMENTS_CONNECTION_<NAME>` holds JSON `{"base_url", "auth", "headers", "tenants"}`: an
  `http_action` with `"connection": "erp"` and a relative `path` calls under `base_url` with the
  connection's auth (a named secret, as in `http_action`) and headers. `tenants` (optional)
  limits which tenants' runs may use it. The connection's secret may go to its base URL's host.
- `SEGMENTS_MODEL_<NAME>=provider:model`: an `llm_agent` with `"llm_ref": "fast"` calls that
  provider and model.

Names are case-insensitive (`erp` reads `SEGMENTS_CONNECTION_ERP`). Settings are read once, when
the worker starts; a bad one stops the worker with a message naming the variable (never its
value, which may hold a header's credential). Only names are ever listed (the catalog).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from segments.step_configs.http_action import HttpAuth, NoAuth

CONNECTION_PREFIX = "SEGMENTS_CONNECTION_"
MODEL_PREFIX = "SEGMENTS_MODEL_"


class ConnectionSettingError(ValueError):
    """A `SEGMENTS_CONNECTION_*` or `SEGMENTS_MODEL_*` variable that cannot be used."""


class Connection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    base_url: str = Field(min_length=1)
    auth: HttpAuth = Field(default_factory=lambda: NoAuth(type="none"))
    headers: dict[str, str] = Field(default_factory=dict)
    tenants: list[str] | None = None

    def allows_tenant(self, tenant_id: str | None) -> bool:
        return self.tenants is None or (tenant_id is not None and tenant_id in self.tenants)


@dataclass(frozen=True)
class ModelRef:
    name: str
    provider: str
    model: str


def _check_base_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectionSettingError(
            f"{CONNECTION_PREFIX}{name}: base_url must be an http:// or https:// URL"
        )
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ConnectionSettingError(
            f"{CONNECTION_PREFIX}{name}: base_url may not carry user info, a query or a fragment"
        )


@dataclass
class Endpoints:
    """The worker's connections and model refs, by upper-case name."""

    connections: dict[str, Connection] = field(default_factory=dict)
    models: dict[str, ModelRef] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Endpoints:
        env = environ if environ is not None else os.environ
        found = cls()
        for key, raw in sorted(env.items()):
            if key.startswith(CONNECTION_PREFIX) and len(key) > len(CONNECTION_PREFIX):
                name = key.removeprefix(CONNECTION_PREFIX).upper()
                found.connections[name] = _parse_connection(name, raw)
            elif key.startswith(MODEL_PREFIX) and len(key) > len(MODEL_PREFIX):
                name = key.removeprefix(MODEL_PREFIX).upper()
                provider, _, model = raw.partition(":")
                if not provider.strip() or not model.strip():
                    raise ConnectionSettingError(f"{key} must be 'provider:model', e.g. openai:gpt-4o-mini")
                found.models[name] = ModelRef(name.lower(), provider.strip(), model.strip())
        return found

    def connection(self, name: str) -> Connection | None:
        return self.connections.get(name.upper())

    def model(self, name: str) -> ModelRef | None:
        return self.models.get(name.upper())

    def connection_names(self) -> list[str]:
        return sorted(name.lower() for name in self.connections)

    def model_names(self) -> list[str]:
        return sorted(name.lower() for name in self.models)


def _parse_connection(name: str, raw: str) -> Connection:
    try:
        data: Any = json.loads(raw)
    except ValueError:
        raise ConnectionSettingError(f"{CONNECTION_PREFIX}{name} is not JSON") from None
    if not isinstance(data, dict):
        raise ConnectionSettingError(f'{CONNECTION_PREFIX}{name} must be a JSON object {{"base_url": ...}}')
    try:
        connection = Connection.model_validate({**data, "name": name.lower()})
    except ValidationError as err:
        fields = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in err.errors(include_url=False, include_input=False)
        )
        raise ConnectionSettingError(f"{CONNECTION_PREFIX}{name}: {fields}") from None
    _check_base_url(name, connection.base_url)
    return connection
