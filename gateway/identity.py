"""Who a bearer token is: a user or a service of one tenant.

`SEGMENTS_GATEWAY_TOKENS` maps each token to an identity, written as

- `acme/anna`: the user `anna` of tenant `acme`; her answers to tasks carry `responder: "anna"`,
  whatever the request body says;
- `acme/service:canvas`: the service `canvas` of tenant `acme` (a canvas platform's backend);
- `acme`: an unnamed service of tenant `acme` (the form tokens had before users existed).

A service starts and watches runs. It answers tasks only for the users that
`SEGMENTS_GATEWAY_ACT_FOR` lets it act for (`acme/service:canvas=anna|ben`, or `=*` for any
user of its tenant), naming the user in `responder`. Who answers is who is authenticated:
nobody answers as someone else by typing their name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ANY_USER = "*"
SERVICE_PREFIX = "service:"


@dataclass(frozen=True)
class Identity:
    tenant: str
    user: str | None
    """Set for a user token: the only responder it may answer as."""
    label: str
    """As written in `SEGMENTS_GATEWAY_TOKENS`; the key of `SEGMENTS_GATEWAY_ACT_FOR`."""

    @property
    def is_service(self) -> bool:
        return self.user is None

    def responder_for(
        self, given: str | None, act_for: Mapping[str, frozenset[str]]
    ) -> tuple[str | None, str]:
        """(the responder this identity answers as, or None; why not)."""
        if self.user is not None:
            if given is not None and given != self.user:
                return None, (
                    f"this token answers as '{self.user}'; it cannot answer as '{given}' "
                    "(leave responder out, or use that user's own token)"
                )
            return self.user, ""
        if not given:
            return None, f"'{self.label}' is a service token: name the user it answers for in 'responder'"
        allowed = act_for.get(self.label, frozenset())
        if ANY_USER in allowed or given in allowed:
            return given, ""
        return None, (
            f"the service token '{self.label}' may not answer for '{given}'; a deployment allows it in "
            f"SEGMENTS_GATEWAY_ACT_FOR ('{self.label}=user|user' or '{self.label}=*')"
        )


def parse_identity(text: str, variable: str) -> Identity:
    """`acme`, `acme/anna` or `acme/service:canvas` -> Identity; ValueError naming `variable`."""
    label = text.strip()
    tenant, sep, who = label.partition("/")
    tenant, who = tenant.strip(), who.strip()
    if not tenant or (sep and not who) or (who.startswith(SERVICE_PREFIX) and not who[len(SERVICE_PREFIX) :]):
        raise ValueError(f"{variable}: '{label}' is not TENANT, TENANT/USER or TENANT/service:NAME")
    if not sep or who.startswith(SERVICE_PREFIX):
        return Identity(tenant, None, label)
    return Identity(tenant, who, label)
