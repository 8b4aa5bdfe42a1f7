"""Webhook triggers: an incoming, signed HTTP request starts a run of a stored segment.

Triggers are configured in a JSON file (`SEGMENTS_GATEWAY_TRIGGERS_FILE`):

    {"new-order": {"segment_id": "order_processing", "version": "1.1.0", "tenant": "acme",
                   "secret": "ORDER_HOOK_SECRET"}}

`secret` names the trigger's own secret, `SEGMENTS_GATEWAY_TRIGGER_SECRET_<name>` in the gateway's
environment: outside the workers' `SEGMENTS_SECRET_*`, so no definition can name it. A sender signs
each delivery:

    X-Segments-Timestamp: <unix seconds>
    X-Segments-Delivery:  <its unique delivery id>
    X-Segments-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<delivery>.<raw body>")>

Deliveries older (or newer) than `max_age` are refused, so a captured request cannot be replayed
later; within that window a replay names the same delivery id, which names the same workflow id
(`trigger-<trigger>-<hash of the delivery id>`), so it starts nothing new.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DELIVERY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,199}$")
TRIGGER_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
DEFAULT_MAX_AGE_SECONDS = 300
TRIGGER_SECRET_PREFIX = "SEGMENTS_GATEWAY_TRIGGER_SECRET_"


class TriggerConfigError(ValueError):
    """The triggers file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Trigger:
    trigger_id: str
    segment_id: str
    version: str
    tenant: str
    secret: str
    """The secret's name (its value is `SEGMENTS_GATEWAY_TRIGGER_SECRET_<name>`)."""


def load_triggers(path: Path | None) -> dict[str, Trigger]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise TriggerConfigError(f"triggers file '{path}': {err}") from None
    if not isinstance(data, dict):
        raise TriggerConfigError(f"triggers file '{path}': must be an object of trigger id -> trigger")
    triggers = {}
    for trigger_id, entry in data.items():
        fields = ("segment_id", "version", "tenant", "secret")
        if not TRIGGER_ID_PATTERN.match(trigger_id):
            raise TriggerConfigError(f"triggers file '{path}': '{trigger_id}' is not a valid trigger id")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) and entry[f] for f in fields):
            raise TriggerConfigError(
                f"triggers file '{path}': '{trigger_id}' needs {', '.join(fields)} (strings)"
            )
        triggers[trigger_id] = Trigger(trigger_id, *(entry[f] for f in fields))
    return triggers


def signature(secret: str, timestamp: str, delivery: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{delivery}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def check_delivery(
    secret: str,
    timestamp: str | None,
    delivery: str | None,
    given: str | None,
    body: bytes,
    now: float,
    max_age: int = DEFAULT_MAX_AGE_SECONDS,
) -> str | None:
    """Why the delivery is refused, or None when it is authentic and fresh."""
    if not timestamp or not delivery or not given:
        return "X-Segments-Timestamp, X-Segments-Delivery and X-Segments-Signature are required"
    if not DELIVERY_PATTERN.match(delivery):
        return "X-Segments-Delivery: up to 200 letters, digits and _ . : -"
    try:
        sent = int(timestamp)
    except ValueError:
        return "X-Segments-Timestamp must be unix seconds"
    if abs(now - sent) > max_age:
        return (
            f"the delivery is older (or newer) than {max_age} seconds; send it again with a fresh timestamp"
        )
    if not hmac.compare_digest(signature(secret, timestamp, delivery, body), given):
        return "the signature does not match"
    return None


def run_id_for(trigger: Trigger, delivery: str) -> str:
    """One delivery id, one workflow id: a repeated delivery starts no second run."""
    return f"trigger-{trigger.trigger_id}-{hashlib.sha256(delivery.encode()).hexdigest()[:24]}"


def secret_value(trigger: Trigger, environ: Mapping[str, str]) -> str | None:
    return environ.get(TRIGGER_SECRET_PREFIX + trigger.secret) or None
