"""An OpenAI-compatible Chat Completions API that triages support tickets by keywords.

It reads the last user message, derives `category`, `urgency` and `summary` from simple
keyword lists (`classify`), and answers:

- with `response_format` `json_schema`: a JSON object shaped by that schema (`shaped`): each
  property it knows is filled from the triage (an `enum` value only if the enum allows it),
  any other property gets an empty value of its type;
- with `json_object`: the triage as JSON;
- otherwise: one line of text.

The same ticket always gets the same answer, so example runs and tests are reproducible.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from aiohttp import web

CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "billing": ("invoice", "charge", "refund", "payment", "billing", "price", "subscription"),
    "technical": ("error", "crash", "down", "outage", "bug", "fail", "broken", "timeout", "500"),
    "account": ("password", "login", "log in", "sign in", "account", "2fa", "locked"),
}
HIGH_URGENCY = ("urgent", "asap", "immediately", "outage", "down", "critical", "production")
LOW_URGENCY = ("no rush", "whenever", "wondering", "question", "when you have time")
_ids = itertools.count(1)
_EMPTY: dict[str, Any] = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": []}


def classify(text: str) -> dict[str, Any]:
    """The triage of a ticket: the category with most keyword hits, the urgency, a short summary."""
    lowered = text.lower()
    hits = {name: sum(lowered.count(word) for word in words) for name, words in CATEGORY_KEYWORDS.items()}
    category = max(hits, key=lambda name: hits[name]) if any(hits.values()) else "other"
    if any(word in lowered for word in HIGH_URGENCY):
        urgency = "high"
    elif any(word in lowered for word in LOW_URGENCY):
        urgency = "low"
    else:
        urgency = "normal"
    body = re.sub(r"^\s*subject:\s*", "", text, flags=re.IGNORECASE)  # a "Subject: ..." first line
    first = re.split(r"(?<=[.!?])\s|\n", body.strip(), maxsplit=1)[0]
    summary = first if len(first) <= 120 else first[:117] + "..."
    return {"category": category, "urgency": urgency, "summary": summary}


def shaped(schema: dict[str, Any], facts: dict[str, Any], name: str = "") -> Any:
    """A value matching `schema`, taken from `facts` by property name where possible."""
    if "enum" in schema:
        return facts.get(name) if facts.get(name) in schema["enum"] else schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties: dict[str, Any] = schema.get("properties", {})
        return {key: shaped(sub, facts, key) for key, sub in properties.items()}
    value = facts.get(name)
    if kind == "string" and isinstance(value, str):
        return value
    return _EMPTY.get(kind)


def _user_text(payload: dict[str, Any]) -> str:
    users = [m for m in payload.get("messages", []) if m.get("role") == "user"]
    content = users[-1].get("content", "") if users else ""
    if isinstance(content, list):  # content parts
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def _answer(payload: dict[str, Any]) -> str:
    facts = classify(_user_text(payload))
    response_format = payload.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return json.dumps(shaped(response_format["json_schema"].get("schema", {}), facts))
    if response_format.get("type") == "json_object":
        return json.dumps(facts)
    return f"Category: {facts['category']}. Urgency: {facts['urgency']}. {facts['summary']}"


def completion_body(
    model: str,
    *,
    content: str | None = None,
    refusal: str | None = None,
    finish_reason: str = "stop",
    usage: tuple[int, int] = (0, 0),
) -> dict[str, Any]:
    """A Chat Completions answer as the official SDK parses it (also used by the tests' stand-in)."""
    return {
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
        },
    }


def openai_app(api_key: str) -> web.Application:
    """The aiohttp application serving `POST /v1/chat/completions` for clients holding `api_key`."""

    async def chat_completions(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {api_key}":
            error: dict[str, Any] = {"message": "Incorrect API key provided", "param": None}
            error |= {"type": "invalid_request_error", "code": "invalid_api_key"}
            return web.json_response({"error": error}, status=401)
        payload = await request.json()
        content = _answer(payload)
        usage = (len(_user_text(payload).split()), len(content.split()))
        return web.json_response(
            completion_body(payload.get("model", "standin"), content=content, usage=usage)
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat_completions)
    return app
