"""Where a named secret may go: the hosts (and tenants) it is bound to.

A definition names a secret (`"auth": {"secret": "ERP_TOKEN"}`), but a definition is not trusted
to decide where it goes: the worker's operator binds it.

    SEGMENTS_SECRET_ERP_TOKEN=...                          the value
    SEGMENTS_SECRET_ERP_TOKEN_HOSTS=erp.example.com,*.erp.example.com,10.0.0.5:8443
    SEGMENTS_SECRET_ERP_TOKEN_TENANTS=acme,globex          optional: only these tenants' runs

A host entry is `host` (any port), `host:port`, or `*.domain` (any subdomain, not the domain
itself); IPv6 literals in brackets. A secret without `_HOSTS` goes nowhere. The check is
`require_bound`, called for every request that carries the secret (each redirect hop of
`http_action`); a caller may `grant` more hosts (a named connection grants its base URL's host).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import httpx
from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_SECRET_NOT_BOUND

HOSTS_SUFFIX = "_HOSTS"
TENANTS_SUFFIX = "_TENANTS"


@dataclass(frozen=True)
class HostPattern:
    """One bound destination: a host name or IP literal (or `*.domain`), and maybe a port."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostPattern:
        raw = text.strip()
        wildcard = raw.startswith("*.")
        try:
            url = httpx.URL("http://" + raw.removeprefix("*."))
        except httpx.InvalidURL:
            raise ValueError(f"'{text}' is not a host, host:port or *.domain") from None
        if not url.host or url.path not in ("", "/") or url.query or url.userinfo:
            raise ValueError(f"'{text}' is not a host, host:port or *.domain")
        host = normalize_host(url)
        return cls(("*." if wildcard else "") + host, url.port)

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port is not None else host


def normalize_host(url: httpx.URL) -> str:
    """The host as it is compared: ASCII (IDNA), lower case, no trailing dot, no brackets."""
    return url.raw_host.decode("ascii").lower().rstrip(".").strip("[]")


def default_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


@dataclass(frozen=True)
class SecretBinding:
    """The hosts and tenants one secret is bound to, and the settings that say so (for errors)."""

    name: str
    hosts_setting: str
    tenants_setting: str
    hosts: tuple[HostPattern, ...] = ()
    tenants: frozenset[str] | None = None
    problem: str | None = None
    """Set when the settings themselves cannot be read (a malformed host entry)."""


def binding_from_env(environ: Mapping[str, str], prefix: str, name: str) -> SecretBinding:
    """The binding of secret `name` from `<prefix><NAME>_HOSTS` and `<prefix><NAME>_TENANTS`."""
    hosts_setting, tenants_setting = f"{prefix}{name}{HOSTS_SUFFIX}", f"{prefix}{name}{TENANTS_SUFFIX}"
    tenants_text = environ.get(tenants_setting)
    tenants = None if tenants_text is None else frozenset(_items(tenants_text))
    binding = SecretBinding(name, hosts_setting, tenants_setting, tenants=tenants)
    try:
        hosts = tuple(HostPattern.parse(item) for item in _items(environ.get(hosts_setting, "")))
    except ValueError as err:
        return replace(binding, problem=str(err))
    return replace(binding, hosts=hosts)


def require_bound(
    binding: SecretBinding,
    url: httpx.URL,
    *,
    tenant: str | None,
    step_id: str,
    grant: Sequence[HostPattern] = (),
) -> None:
    """Raise a non-retryable error unless `binding` (or `grant`) lets the secret go to `url` for
    a run of `tenant`. The error names the setting to change, never the secret's value."""
    name = binding.name
    if binding.problem is not None:
        raise _unbound(step_id, f"{binding.hosts_setting} cannot be read: {binding.problem}")
    if binding.tenants is not None and (tenant or "") not in binding.tenants:
        who = f"tenant '{tenant}'" if tenant else "a run without a tenant"
        raise _unbound(
            step_id,
            f"secret '{name}' is not available to {who}; "
            f"{binding.tenants_setting} lists the tenants that may use it",
        )
    host, port = normalize_host(url), default_port(url)
    if any(pattern.matches(host, port) for pattern in (*binding.hosts, *grant)):
        return
    shown = f"[{host}]" if ":" in host else host
    if not binding.hosts:
        reason = f"secret '{name}' is bound to no host; set {binding.hosts_setting} to the hosts it may go to"
    else:
        reason = f"secret '{name}' may not go to {shown}:{port}; {binding.hosts_setting} allows " + ", ".join(
            str(p) for p in binding.hosts
        )
    raise _unbound(step_id, reason)


def _unbound(step_id: str, reason: str) -> ApplicationError:
    return ApplicationError(f"step '{step_id}': {reason}", type=ERROR_SECRET_NOT_BOUND, non_retryable=True)


def _items(text: str) -> Iterable[str]:
    return (item.strip() for item in text.split(",") if item.strip())
