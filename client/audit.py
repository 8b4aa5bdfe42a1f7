"""Audit export: who did what and when in a run, as a hash-chained JSON-lines log.

The source of truth is the run's Temporal history; payloads are decoded with the
client's data converter (so the encryption codec applies). Each line is one of these
`event`s (plus `time`, the history event's time, and `event_id`, its history id):

- `run_started` (workflow_id, temporal_run_id, workflow_type, segment_id, tenant_id, identity,
  task_queue); `run_completed`, `run_failed` (error), `run_cancelled`,
  `run_terminated` (reason, identity), `run_timed_out`, `run_continued_as_new`;
  `cancel_requested` (identity);
- `activity_scheduled` (activity_type, activity_id, step_id, step_type, task_id, visit)
  then `activity_completed` / `activity_failed` / `activity_timed_out` /
  `activity_cancelled` (the same ids, scheduled_time, attempt, worker identity; for
  `http_action` the response `status`, for `llm_agent` `model`, `usage`,
  `finish_reason`; on failure the error type and a clipped message). Bodies, prompts,
  outputs and secrets are never exported;
- `child_started`, `child_completed` / `child_failed` / `child_cancelled` /
  `child_timed_out` / `child_terminated` (child workflow id, type);
- `respond` (via `signal` or `update`: task_id, responder, decision, option, comment,
  identity; for updates `accepted` and, when refused, `reason`). Temporal does not
  record updates refused by their validator in history, so those cannot appear;
- `paused`, `resumed` (identity, and `by`/`reason` when the signal carried them);
  `signal` for any other signal name (name, identity only).

Chaining: every line gets `seq` (1, 2, ...), `prev_hash` (the previous line's `hash`,
64 zeros for the first) and `hash` = SHA-256 hex of the canonical JSON of the line
without `hash`: keys sorted, separators `,` and `:`, UTF-8, no ASCII escaping. Lines are
written in that same canonical form (with `hash`), so any byte edit is detected. The
chain proves order and integrity, not origin: keep the last `hash` (the head) somewhere
else and pass it as `expected_head` to detect truncation or a recomputed chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import DataConverter, WorkflowSerializationContext
from temporalio.exceptions import ApplicationError, FailureError

GENESIS_HASH = "0" * 64
MAX_TEXT = 500
HTTP_ACTION = "http_action"
LLM_AGENT = "llm_agent"

Record = dict[str, Any]


def canonical_json(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def line_hash(line: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of `line` without its `hash` key."""
    body = {k: v for k, v in line.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def chain(records: Iterable[Mapping[str, Any]]) -> list[Record]:
    """Number the records and link them into a hash chain."""
    lines: list[Record] = []
    prev = GENESIS_HASH
    for seq, record in enumerate(records, start=1):
        line = {**record, "seq": seq, "prev_hash": prev}
        line.pop("hash", None)
        line["hash"] = prev = line_hash(line)
        lines.append(line)
    return lines


def to_jsonl(lines: Iterable[Mapping[str, Any]]) -> str:
    return "".join(canonical_json(line) + "\n" for line in lines)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    """Lines checked (up to and including the first bad one)."""
    first_bad_line: int | None = None
    """1-based position, in the input, of the first line that fails (blank lines count
    as positions but are otherwise ignored); for a missing tail, the position after the
    last line."""
    reason: str | None = None
    head: str | None = None
    """The hash of the last good line."""


def verify_lines(
    lines: Iterable[str | Mapping[str, Any]], *, expected_head: str | None = None
) -> VerifyResult:
    """Check a chain: each line's hash, its link to the previous line, and its `seq`.

    Text lines must also be in canonical form; blank lines are ignored (a trailing
    newline is fine). Removed, reordered or edited lines fail at the first line whose
    hash or link no longer holds."""
    prev = GENESIS_HASH
    count = number = 0
    for number, item in enumerate(lines, start=1):
        if isinstance(item, str) and not item.strip():
            continue
        count += 1
        problem, line_head = _check_line(item, prev, count)
        if problem is not None:
            return VerifyResult(False, count, number, problem, None if count == 1 else prev)
        prev = line_head
    head = None if count == 0 else prev
    if expected_head is not None and head != expected_head:
        return VerifyResult(
            False, count, number + 1, "chain does not end at the expected head (truncated?)", head
        )
    return VerifyResult(True, count, None, None, head)


def _check_line(item: str | Mapping[str, Any], prev: str, seq: int) -> tuple[str | None, str]:
    """(the problem with line number `seq`, or None; its hash)."""
    if isinstance(item, str):
        text = item.rstrip("\r\n")
        try:
            line = json.loads(text)
        except ValueError:
            return "not valid JSON", ""
        if not isinstance(line, dict):
            return "not a JSON object", ""
        try:
            canonical = canonical_json(line)
        except ValueError:  # NaN or Infinity: JSON has no such numbers, so no line we write has them
            return "not in canonical form (a number that is not JSON: NaN or Infinity)", ""
        if text != canonical:
            return "not in canonical form (edited)", ""
    else:
        line = dict(item)
    try:
        digest = line_hash(line)
    except ValueError:
        return "not in canonical form (a number that is not JSON: NaN or Infinity)", ""
    if line.get("hash") != digest:
        return "hash does not match the line's content", digest
    if line.get("prev_hash") != prev:
        return "prev_hash does not match the previous line (a line was removed or moved)", digest
    if line.get("seq") != seq:
        return f"seq is {line.get('seq')!r}, expected {seq}", digest
    return None, digest


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    return value


class _Decoder:
    def __init__(self, converter: DataConverter) -> None:
        self.converter = converter

    async def first(self, payloads: Payloads, out: Record) -> Any:
        """The first decoded value of `payloads`, None if empty; a decode failure is noted
        in `out["decode_error"]` instead of stopping the export."""
        if not payloads.payloads:
            return None
        try:
            values = await self.converter.decode(payloads.payloads)
        except Exception as err:
            out["decode_error"] = _clip(f"{type(err).__name__}: {err}")
            return None
        return values[0] if values else None

    async def error(self, failure: Failure) -> dict[str, Any]:
        copy = Failure()
        copy.CopyFrom(failure)
        try:
            exc = await self.converter.decode_failure(copy)
        except Exception as err:
            return {"message": _clip(f"undecodable failure: {type(err).__name__}")}
        result: dict[str, Any] = {
            "message": _clip(exc.message if isinstance(exc, FailureError) else str(exc))
        }
        if isinstance(exc, ApplicationError):
            result["type"] = exc.type
            result["non_retryable"] = exc.non_retryable
        else:
            result["type"] = type(exc).__name__
        cause = exc.__cause__
        if isinstance(cause, ApplicationError):
            result["cause"] = {"type": cause.type, "message": _clip(cause.message)}
        return result


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _response_fields(value: Any) -> Record:
    data = _dict(value)
    fields = {k: _clip(data.get(k)) for k in ("task_id", "responder", "decision", "option", "comment")}
    return {k: v for k, v in fields.items() if v is not None}


def _result_fields(activity_type: str, result: Any) -> Record:
    data = _dict(result)
    if activity_type == HTTP_ACTION:
        return {"status": data.get("status")}
    if activity_type == LLM_AGENT:
        return {
            "model": data.get("model"),
            "usage": data.get("usage"),
            "finish_reason": data.get("finish_reason"),
        }
    return {}


LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""Steps run as local activities (transform) leave a marker, not activity events."""


async def _local_activity_fields(dec: _Decoder, marker: Any, rec: Record) -> Record:
    meta = _dict(await dec.first(marker.details["data"], rec)) if "data" in marker.details else {}
    activity_id = str(meta.get("activity_id", ""))
    step_key, _, visit = activity_id.rpartition("#")
    path, _, step_id = step_key.rpartition("/")
    fields: Record = {
        "event": "activity_failed" if marker.HasField("failure") else "activity_completed",
        "local": True,
        "activity_type": meta.get("activity_type"),
        "activity_id": activity_id,
        "attempt": meta.get("attempt"),
    }
    if step_id:
        fields |= {"step_id": step_id, "task_id": step_key, "visit": int(visit) if visit.isdigit() else 1}
        if path:
            fields["task_path"] = path + "/"
    if marker.HasField("failure"):
        fields["error"] = await dec.error(marker.failure)
    return fields


async def audit_records(
    events: Sequence[HistoryEvent], converter: DataConverter, *, workflow_id: str = ""
) -> list[Record]:
    """The audit records (unchained) of one run's history events."""
    dec = _Decoder(converter)
    out: list[Record] = []
    activities: dict[int, Record] = {}
    started: dict[int, HistoryEvent] = {}
    children: dict[str, Record] = {}
    updates: dict[int, Record] = {}

    for ev in events:
        kind = ev.WhichOneof("attributes")
        rec: Record = {"time": ev.event_time.ToJsonString(), "event_id": ev.event_id}
        if kind == "workflow_execution_started_event_attributes":
            a = ev.workflow_execution_started_event_attributes
            arg = _dict(await dec.first(a.input, rec))
            rec |= {
                "event": "run_started",
                "workflow_id": workflow_id,
                "temporal_run_id": a.original_execution_run_id,
                "workflow_type": a.workflow_type.name,
                "segment_id": _dict(arg.get("segment")).get("segment_id"),
                "tenant_id": arg.get("tenant_id"),
                "identity": a.identity,
                "task_queue": a.task_queue.name,
            }
            if a.HasField("parent_workflow_execution"):
                rec["parent_workflow_id"] = a.parent_workflow_execution.workflow_id
        elif kind == "activity_task_scheduled_event_attributes":
            s = ev.activity_task_scheduled_event_attributes
            arg = _dict(await dec.first(s.input, rec))
            info: Record = {"activity_type": s.activity_type.name, "activity_id": s.activity_id}
            if "step_id" in arg:
                info |= {
                    "step_id": arg["step_id"],
                    "step_type": arg.get("step_type"),
                    "task_id": f"{arg.get('task_path') or ''}{arg['step_id']}",
                    "visit": arg.get("visit", 1),
                }
            activities[ev.event_id] = info | {"scheduled_time": rec["time"]}
            rec |= {"event": "activity_scheduled", **info}
        elif kind == "activity_task_started_event_attributes":
            started[ev.activity_task_started_event_attributes.scheduled_event_id] = ev
            continue
        elif kind in _ACTIVITY_ENDS:
            a = getattr(ev, kind)
            info = activities.get(a.scheduled_event_id, {})
            rec |= {"event": _ACTIVITY_ENDS[kind], **info}
            start = started.get(a.scheduled_event_id)
            if start is not None:
                rec["attempt"] = start.activity_task_started_event_attributes.attempt
                rec["worker"] = start.activity_task_started_event_attributes.identity
            if kind == "activity_task_completed_event_attributes":
                rec |= _result_fields(info.get("activity_type", ""), await dec.first(a.result, rec))
            elif kind in (
                "activity_task_failed_event_attributes",
                "activity_task_timed_out_event_attributes",
            ):
                rec["error"] = await dec.error(a.failure)
        elif kind == "marker_recorded_event_attributes":
            marker = ev.marker_recorded_event_attributes
            if marker.marker_name != LOCAL_ACTIVITY_MARKER:
                continue
            rec |= await _local_activity_fields(dec, marker, rec)
        elif kind == "child_workflow_execution_started_event_attributes":
            c = ev.child_workflow_execution_started_event_attributes
            info = {
                "child_workflow_id": c.workflow_execution.workflow_id,
                "child_workflow_type": c.workflow_type.name,
            }
            children[c.workflow_execution.workflow_id] = info
            rec |= {"event": "child_started", **info, "child_temporal_run_id": c.workflow_execution.run_id}
        elif kind in _CHILD_ENDS:
            c = getattr(ev, kind)
            child_id = c.workflow_execution.workflow_id
            rec |= {"event": _CHILD_ENDS[kind], **children.get(child_id, {"child_workflow_id": child_id})}
            if kind == "child_workflow_execution_failed_event_attributes":
                rec["error"] = await dec.error(c.failure)
        elif kind == "workflow_execution_signaled_event_attributes":
            sig = ev.workflow_execution_signaled_event_attributes
            rec["identity"] = sig.identity
            arg = await dec.first(sig.input, rec)
            if sig.signal_name == "respond":
                rec |= {"event": "respond", "via": "signal", **_response_fields(arg)}
            elif sig.signal_name in ("pause", "resume"):
                rec["event"] = "paused" if sig.signal_name == "pause" else "resumed"
                rec |= {k: _clip(v) for k, v in _dict(arg).items() if k in ("by", "reason") and v is not None}
            else:
                rec |= {"event": "signal", "name": sig.signal_name}
        elif kind == "workflow_execution_update_accepted_event_attributes":
            req = ev.workflow_execution_update_accepted_event_attributes.accepted_request
            if req.input.name == "respond":
                fields = _response_fields(await dec.first(req.input.args, rec))
                updates[ev.event_id] = {
                    "identity": req.meta.identity,
                    "update_id": req.meta.update_id,
                    **fields,
                }
            continue
        elif kind == "workflow_execution_update_completed_event_attributes":
            done = ev.workflow_execution_update_completed_event_attributes
            if done.accepted_event_id not in updates:
                continue
            rec |= {"event": "respond", "via": "update", **updates.pop(done.accepted_event_id)}
            if done.outcome.HasField("failure"):
                rec |= {"accepted": False, "reason": (await dec.error(done.outcome.failure))["message"]}
            else:
                result = _dict(await dec.first(done.outcome.success, rec))
                rec["accepted"] = result.get("accepted", True) is not False
                if not rec["accepted"]:
                    rec["reason"] = _clip(result.get("reason"))
        elif kind == "workflow_execution_update_rejected_event_attributes":
            rej = ev.workflow_execution_update_rejected_event_attributes
            if rej.rejected_request.input.name != "respond":
                continue
            fields = _response_fields(await dec.first(rej.rejected_request.input.args, rec))
            rec |= {
                "event": "respond",
                "via": "update",
                "identity": rej.rejected_request.meta.identity,
                **fields,
            }
            rec |= {"accepted": False, "reason": (await dec.error(rej.failure))["message"]}
        elif kind == "workflow_execution_cancel_requested_event_attributes":
            rec |= {
                "event": "cancel_requested",
                "identity": ev.workflow_execution_cancel_requested_event_attributes.identity,
            }
        elif kind == "workflow_execution_failed_event_attributes":
            rec |= {
                "event": "run_failed",
                "error": await dec.error(ev.workflow_execution_failed_event_attributes.failure),
            }
        elif kind == "workflow_execution_terminated_event_attributes":
            t = ev.workflow_execution_terminated_event_attributes
            rec |= {"event": "run_terminated", "reason": _clip(t.reason), "identity": t.identity}
        elif kind == "workflow_execution_continued_as_new_event_attributes":
            new_run = ev.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            rec |= {"event": "run_continued_as_new", "new_temporal_run_id": new_run}
        elif kind in _RUN_ENDS:
            rec["event"] = _RUN_ENDS[kind]
        else:
            continue
        out.append(rec)
    return out


_ACTIVITY_ENDS = {
    "activity_task_completed_event_attributes": "activity_completed",
    "activity_task_failed_event_attributes": "activity_failed",
    "activity_task_timed_out_event_attributes": "activity_timed_out",
    "activity_task_canceled_event_attributes": "activity_cancelled",
}
_CHILD_ENDS = {
    "child_workflow_execution_completed_event_attributes": "child_completed",
    "child_workflow_execution_failed_event_attributes": "child_failed",
    "child_workflow_execution_canceled_event_attributes": "child_cancelled",
    "child_workflow_execution_timed_out_event_attributes": "child_timed_out",
    "child_workflow_execution_terminated_event_attributes": "child_terminated",
}
_RUN_ENDS = {
    "workflow_execution_completed_event_attributes": "run_completed",
    "workflow_execution_canceled_event_attributes": "run_cancelled",
    "workflow_execution_timed_out_event_attributes": "run_timed_out",
}


async def export_audit(client: Client, workflow_id: str, temporal_run_id: str | None = None) -> list[Record]:
    """The chained audit lines of a run, decoded with `client`'s data converter; write them with
    `to_jsonl`. `workflow_id` is the run's id; with `temporal_run_id`, only that Temporal run
    (one history) and those after it; without, the whole run: every Temporal run of `workflow_id` from the
    first, following continue-as-new, in one chain."""
    converter = client.data_converter.with_context(
        WorkflowSerializationContext(namespace=client.namespace, workflow_id=workflow_id)
    )
    if temporal_run_id is None:
        description = await client.get_workflow_handle(workflow_id).describe()
        temporal_run_id = description.raw_description.workflow_execution_info.first_run_id or None
    records: list[Record] = []
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=temporal_run_id).fetch_history()
        records += await audit_records(history.events, converter, workflow_id=workflow_id)
        last = history.events[-1] if history.events else None
        if last is None or not last.HasField("workflow_execution_continued_as_new_event_attributes"):
            return chain(records)
        temporal_run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
