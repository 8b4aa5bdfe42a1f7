"""The egress guard: which addresses a step's HTTP request may reach.

A segment is data that anyone with a canvas can write; the worker runs inside a network.
Without a guard an `http_action` could read the cloud metadata service or an internal admin
port. So a host is resolved (the system resolver, which also turns odd notations such as
`0x7f.1`, `127.1` or `2130706433` into `127.0.0.1`) and *every* address it resolves to must
be public: loopback, private (RFC 1918), link-local, carrier-grade NAT, unspecified,
multicast, reserved, IPv6 unique-local/site-local, IPv4 embedded in IPv6 (mapped, 6to4,
NAT64) of any of those, and the cloud metadata addresses are refused.

The worker setting `SEGMENTS_HTTP_ALLOW` (comma-separated) opens exceptions:

- `10.0.0.0/8`, `fd00::/8`, `127.0.0.1`: addresses and CIDR ranges;
- `erp.internal`, `*.corp.example`: host names, as written in the URL (any address they resolve to);
- any of those with a port, `127.0.0.1:8080`, `[::1]:8443`, `erp.internal:8443`: that port only.

A metadata address (169.254.169.254, fd00:ec2::254...) is opened only by an entry naming it
exactly (or its host name), never by a wider range such as `169.254.0.0/16`.

DNS rebinding: a check followed by a second, independent resolution at connect time can be
fooled by a name that answers a public address first and a private one next. Every outbound
request therefore goes through `activities.outbound.PinnedTransport`, which resolves, checks
and connects to the checked address in one step (TLS still verifies the certificate against
the host name).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from temporalio.exceptions import ApplicationError

from activities.contracts import ERROR_EGRESS_DENIED

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

ALLOW_SETTING = "SEGMENTS_HTTP_ALLOW"

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack...
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IPv6
    )
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_ULA = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")
"""IETF protocol assignments; Python before 3.11.10 / 3.12.4 calls only 192.0.0.0/29 of it non-global."""


def refusal_reason(address: IPAddress) -> str | None:
    """Why the guard refuses `address` by default, or None when it is a public address."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal_reason(embedded)
            return f"{reason}, embedded in an IPv6 address" if reason else None
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address in _CGNAT, "a carrier-grade NAT address (100.64.0.0/10)"),
        (address in _IETF_PROTOCOL, "an IETF protocol assignment address (192.0.0.0/24)"),
        (address.is_multicast, "a multicast address"),
        (any(address in net for net in _RFC1918), "a private address (RFC 1918)"),
        (address in _ULA, "an IPv6 unique-local address (fc00::/7)"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "an IPv6 site-local address"),
        (address.is_private, "a private-use address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "an address that is not globally routable"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to `address` really goes to (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class AllowEntry:
    """One `SEGMENTS_HTTP_ALLOW` entry: a host name (or `*.suffix`) or a network, and maybe a port."""

    host: str | None = None
    network: IPNetwork | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> AllowEntry:
        raw = text.strip().lower()
        port: int | None = None
        if raw.startswith("["):  # [v6] or [v6]:port or [v6/len]
            inner, _, rest = raw[1:].partition("]")
            if rest:
                port = _port(rest.removeprefix(":"), text)
            raw = inner
        elif raw.count(":") == 1:  # host:port or v4:port (a bare IPv6 has several colons)
            raw, _, port_text = raw.partition(":")
            port = _port(port_text, text)
        try:
            return cls(network=ipaddress.ip_network(raw, strict=False), port=port)
        except ValueError:
            pass
        host = raw.rstrip(".")
        label = host.removeprefix("*.")
        if not label or any(
            not part or not all(c.isalnum() or c in "-_" for c in part) for part in label.split(".")
        ):
            raise ValueError(f"{ALLOW_SETTING}: '{text}' is neither a host name nor an address or CIDR range")
        return cls(host=host, port=port)

    def matches_host(self, host: str, port: int) -> bool:
        if self.host is None or (self.port is not None and self.port != port):
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host

    def matches_address(self, address: IPAddress, port: int) -> bool:
        if self.network is None or (self.port is not None and self.port != port):
            return False
        if address.version != self.network.version or address not in self.network:
            return False
        # A metadata address needs an entry naming exactly it, not a range around it.
        return address not in METADATA_ADDRESSES or self.network.num_addresses == 1


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{ALLOW_SETTING}: '{entry}' has an invalid port")
    return int(text)


@dataclass(frozen=True)
class AllowList:
    entries: tuple[AllowEntry, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str] | str) -> AllowList:
        items = entries.split(",") if isinstance(entries, str) else list(entries)
        return cls(tuple(AllowEntry.parse(item) for item in items if item.strip()))

    def allows_host(self, host: str, port: int) -> bool:
        return any(entry.matches_host(host, port) for entry in self.entries)

    def allows_address(self, address: IPAddress, port: int) -> bool:
        return any(entry.matches_address(address, port) for entry in self.entries)


class EgressDenied(Exception):
    """A host the guard refuses; no connection was opened. Carries no request data."""

    def __init__(self, host: str, port: int, address: IPAddress, reason: str) -> None:
        self.host, self.port, self.address, self.reason = host, port, address, reason
        shown = host if host == str(address) else f"{host} ({address})"
        super().__init__(
            f"egress to {shown} port {port} refused: {reason}. To allow it, add the host, address "
            f"or a CIDR range to {ALLOW_SETTING} on the worker (comma-separated)"
        )


def denied_error(exc: EgressDenied, *, step_id: str) -> ApplicationError:
    return ApplicationError(
        f"step '{step_id}': {exc}",
        {"host": exc.host, "port": exc.port, "address": str(exc.address), "setting": ALLOW_SETTING},
        type=ERROR_EGRESS_DENIED,
        non_retryable=True,
    )


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host` (raises `socket.gaierror`)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def normalize_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


class EgressGuard:
    """Resolves and checks a host; `check` returns the addresses it is safe to connect to."""

    def __init__(self, allow: AllowList | None = None, resolver: Resolver | None = None) -> None:
        self.allow = allow or AllowList()
        self._resolve = resolver or system_resolver

    def also_allowing(self, entry: str) -> EgressGuard:
        """This guard plus one `SEGMENTS_HTTP_ALLOW`-style entry: for a host the worker's own
        configuration names (the Slack API root), which no segment can change."""
        return EgressGuard(AllowList((*self.allow.entries, AllowEntry.parse(entry))), self._resolve)

    async def check(self, host: str, port: int) -> list[IPAddress]:
        """The checked addresses of `host`; raises `EgressDenied`, or `OSError` when it does not resolve."""
        host = normalize_host(host)
        addresses = await self._resolve(host, port)
        if not addresses:
            raise socket.gaierror(f"{host} has no address")
        if self.allow.allows_host(host, port):
            return addresses
        for address in addresses:
            reason = refusal_reason(address)
            if reason is not None and not self.allow.allows_address(address, port):
                # One refused address refuses the host: a name that mixes public and private
                # answers is how rebinding attacks start.
                raise EgressDenied(host, port, address, reason)
        return addresses
