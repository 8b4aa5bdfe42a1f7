"""Runs INSIDE a throwaway virtualenv that has llmteam-ai installed (see scripts/llmteam_corpus.py).

Writes definitions with llmteam's own API (`to_dict()`), runs each scenario with llmteam's own
runner and its mock providers, and records what happened: status, output, error, the input each
step's handler received, every LLM prompt and HTTP call. Not imported by the engine or its tests.

    python llmteam_corpus_build.py OUT_DIR
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import traceback
from datetime import timedelta
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

LLMTEAM_VERSION = package_version("llmteam-ai")
MAJOR = LLMTEAM_VERSION.split(".")[0]
V5 = MAJOR == "5"
MINOR = tuple(int(x) for x in LLMTEAM_VERSION.split(".")[:2])

if V5:
    from llmteam.engine import EdgeDefinition, ExecutionEngine, RunConfig, StepCatalog, StepDefinition
    from llmteam.engine import WorkflowDefinition as Definition
    from llmteam.engine.handlers.human_handler import HumanTaskHandler
else:
    from llmteam.canvas import EdgeDefinition, RunConfig, SegmentRunner, StepCatalog, StepDefinition
    from llmteam.canvas import SegmentDefinition as Definition

    try:
        from llmteam.canvas.handlers import HumanTaskHandler
    except ImportError:  # pragma: no cover
        HumanTaskHandler = None  # type: ignore[assignment,misc]
from llmteam.runtime import RuntimeContext  # noqa: E402

try:
    from llmteam.testing import MockHTTPClient, MockLLMProvider
except ImportError:  # llmteam-ai 2.0 ships no mocks; its runner never reaches a provider anyway
    import re

    class MockLLMProvider:  # type: ignore[no-redef]
        def __init__(self, patterns: dict[str, str]) -> None:
            self.patterns = patterns
            self.calls: list[dict[str, Any]] = []

        async def complete(self, prompt: str, **kwargs: Any) -> str:
            self.calls.append({"prompt": prompt, "kwargs": kwargs})
            return next((r for p, r in self.patterns.items() if re.search(p, prompt, re.I)), "Mock response")

    class MockHTTPClient:  # type: ignore[no-redef]
        def __init__(self, responses: dict[tuple[str, str], Any]) -> None:
            self.responses = responses
            self.calls: list[dict[str, Any]] = []

        async def request(self, method: str, path: str, **kwargs: Any) -> Any:
            self.calls.append({"method": method, "path": path, "kwargs": kwargs})
            return self.responses.get((method.upper(), path), {"status": "ok"})


# What the stand-ins answer (tests/standins/llmteam_services.py answers the same).
LLM_PATTERNS = {
    r"DRAFT": "FINAL: Tea that tastes like home.",
    r"slogan": "DRAFT: Tea for you.",
    r"classify": "support",
    r"Summarize": "Damaged delivery; refund requested.",
    r"risk": "low risk",
}
HTTP_RESPONSES = {
    ("POST", "/notes"): {"id": 42, "saved": True},
    ("GET", "/customers/42"): {"id": 42, "name": "Ada", "tier": "gold"},
    ("POST", "/orders"): {"order_id": "PO-1", "placed": True},
}


def make(step_id: str, kind: str, config: dict[str, Any], name: str = "", **ports: list[str]) -> Any:
    step = StepDefinition(step_id=step_id, type=kind, config=config, name=name)
    if "input_ports" in ports:
        step.input_ports = ports["input_ports"]
    if "output_ports" in ports:
        step.output_ports = ports["output_ports"]
    return step


def edge(
    source: str, target: str, from_port: str = "output", to_port: str = "input", condition: Any = None
) -> Any:
    return EdgeDefinition(source, target, from_port=from_port, to_port=to_port, condition=condition)


def definition(definition_id: str, name: str, entry: str, steps: list[Any], edges: list[Any]) -> Any:
    if V5:
        return Definition(workflow_id=definition_id, name=name, entrypoint=entry, steps=steps, edges=edges)
    return Definition(segment_id=definition_id, name=name, entrypoint=entry, steps=steps, edges=edges)


# --- the definitions --------------------------------------------------------------------


def linear() -> Any:
    return definition(
        "linear",
        "Summarize and file a note",
        "summarize",
        [
            make(
                "summarize",
                "llm_agent",
                {"llm_ref": "fast", "prompt": "Summarize: {text}", "temperature": 0.2},
            ),
            make("shape", "transform", {"mapping": {"note": "input"}}),
            make("post_note", "http_action", {"client_ref": "crm", "path": "/notes", "method": "POST"}),
        ],
        [edge("summarize", "shape"), edge("shape", "post_note", to_port="body")],
    )


def condition() -> Any:
    return definition(
        "condition",
        "Review large amounts",
        "check",
        [
            make("check", "condition", {"expression": "amount > 1000"}, output_ports=["true", "false"]),
            make("needs_review", "transform", {"expression": "input"}),
            make(
                "auto_ok", "transform", {"mapping": {"amount": "input.amount", "approved": "input.approved"}}
            ),
        ],
        [edge("check", "needs_review", from_port="true"), edge("check", "auto_ok", from_port="false")],
    )


def edge_conditions() -> Any:
    return definition(
        "edge_conditions",
        "Route a failed draft",
        "draft",
        [
            make("draft", "llm_agent", {"llm_ref": "writer", "prompt": "Write a slogan for {product}"}),
            make("fallback", "transform", {"mapping": {"problem": "input.message"}}),
            make("publish", "http_action", {"client_ref": "crm", "path": "/notes"}),
        ],
        [
            edge("draft", "fallback", from_port="error", condition="error"),
            edge("draft", "publish", condition="output"),
        ],
    )


def parallel() -> Any:
    return definition(
        "parallel",
        "Summarize and look up at once",
        "fan_out",
        [
            make("fan_out", "parallel_split", {"branches": 2}, output_ports=["branch_1", "branch_2"]),
            make("summarize", "llm_agent", {"prompt": "Summarize: {text}"}),
            make("lookup", "http_action", {"client_ref": "crm", "path": "/customers/42", "method": "GET"}),
            make("merge", "parallel_join", {"merge_strategy": "all"}, input_ports=["branch_1", "branch_2"]),
            make("report", "transform", {"expression": "input"}),
        ],
        [
            edge("fan_out", "summarize", from_port="branch_1"),
            edge("fan_out", "lookup", from_port="branch_2"),
            edge("summarize", "merge", to_port="branch_1"),
            edge("lookup", "merge", to_port="branch_2"),
            edge("merge", "report"),
        ],
    )


def human_approval() -> Any:
    return definition(
        "human_approval",
        "Approve, then place",
        "approve",
        [
            make(
                "approve",
                "human_task",
                {
                    "task_type": "approval",
                    "title": "Approve the purchase",
                    "assignee_ref": "finance",
                    "timeout_hours": 4,
                    "escalation_chain": ["cfo"],
                },
                output_ports=["approved", "rejected"],
            ),
            make("place", "http_action", {"client_ref": "erp", "path": "/orders"}),
            make("tell_requester", "transform", {"mapping": {"rejected_by": "input.responder"}}),
        ],
        [
            edge("approve", "place", from_port="approved", condition="approved"),
            edge("approve", "tell_requester", from_port="rejected", condition="rejected"),
        ],
    )


def order() -> Any:
    """The seed's order workflow: validate, approve big orders, place the order at the ERP."""
    return definition(
        "order_processing",
        "Order processing",
        "validate",
        [
            make("validate", "transform", {"mapping": {"order": "order", "total": "order.total"}}),
            make(
                "big_order", "condition", {"expression": "input.total > 1000"}, output_ports=["true", "false"]
            ),
            make(
                "approve",
                "human_task",
                {
                    "task_type": "approval",
                    "title": "Approve a big order",
                    "assignee_ref": "approver",
                    "timeout_hours": 4,
                    "escalation_chain": ["cfo"],
                },
                output_ports=["approved", "rejected"],
            ),
            make("place", "http_action", {"client_ref": "erp", "path": "/orders", "method": "POST"}),
        ],
        [
            edge("validate", "big_order"),
            edge("big_order", "approve", from_port="true"),
            edge("big_order", "place", from_port="false"),
            edge("approve", "place", from_port="approved", condition="approved"),
        ],
    )


def loop() -> Any:
    return definition(
        "loop",
        "Redraft until final",
        "start",
        [
            make("start", "transform", {"expression": "topic"}),
            make("draft", "llm_agent", {"prompt": "Write a slogan: {input}"}),
            make(
                "check", "condition", {"expression": "input contains 'FINAL'"}, output_ports=["true", "false"]
            ),
            make("publish", "transform", {"expression": "input"}),
        ],
        [
            edge("start", "draft"),
            edge("draft", "check"),
            edge("check", "draft", from_port="false"),
            edge("check", "publish", from_port="true"),
        ],
    )


def switch() -> Any:
    return definition(
        "switch",
        "Route by category",
        "classify",
        [
            make("classify", "llm_agent", {"prompt": "classify this ticket: {text}"}),
            make(
                "route",
                "switch",
                {
                    "target": "{input}",
                    "default_port": "other",
                    "cases": [
                        {"value": "sales", "port": "sales"},
                        {"expression": "'support' in value", "port": "support"},
                    ],
                },
                output_ports=["sales", "support", "other"],
            ),
            make("sales_team", "transform", {"mapping": {"team": "input"}}),
            make("support_team", "transform", {"mapping": {"team": "input"}}),
            make("other_team", "transform", {"mapping": {"team": "input"}}),
        ],
        [
            edge("classify", "route"),
            edge("route", "sales_team", from_port="sales"),
            edge("route", "support_team", from_port="support"),
            edge("route", "other_team", from_port="other"),
        ],
    )


def subworkflow_child() -> Any:
    return definition(
        "enrich_child",
        "Enrich a customer",
        "tag",
        [make("tag", "transform", {"mapping": {"customer": "input.name", "tier": "input.tier"}})],
        [],
    )


def subworkflow() -> Any:
    return definition(
        "subworkflow",
        "Call a child workflow",
        "prepare",
        [
            make("prepare", "transform", {"mapping": {"name": "customer.name", "tier": "customer.tier"}}),
            make(
                "enrich",
                "subworkflow",
                {"segment_id": "enrich_child"},
            ),
            make("finish", "transform", {"expression": "input"}),
        ],
        [edge("prepare", "enrich"), edge("enrich", "finish")],
    )


def team() -> Any:
    return definition(
        "team",
        "A team of agents",
        "crew",
        [make("crew", "team", {"team_ref": "support_crew", "input_mapping": {"query": "text"}})],
        [],
    )


DEFINITIONS: dict[str, Any] = {
    "linear": linear,
    "condition": condition,
    "edge_conditions": edge_conditions,
    "parallel": parallel,
    "human_approval": human_approval,
    "order_processing": order,
    "loop": loop,
}
if MINOR >= (2, 3):
    DEFINITIONS.update(
        {"switch": switch, "subworkflow": subworkflow, "enrich_child": subworkflow_child, "team": team}
    )

SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "linear": [
        {"name": "summarize a complaint", "input": {"text": "The parcel arrived crushed; I want a refund."}}
    ],
    "condition": [
        {"name": "amount 5000", "input": {"amount": 5000}},
        {"name": "amount 500", "input": {"amount": 500}},
    ],
    "edge_conditions": [
        {"name": "writer registered", "input": {"product": "green tea"}},
        {"name": "llm_ref not registered", "input": {"product": "green tea"}, "llms": []},
    ],
    "parallel": [{"name": "both branches", "input": {"text": "Summarize: the customer wants a refund."}}],
    "human_approval": [
        {"name": "finance approves", "input": {"item": "laptop", "amount": 1800}, "answer": True},
        {"name": "finance rejects", "input": {"item": "laptop", "amount": 1800}, "answer": False},
    ],
    "order_processing": [
        {"name": "order 5000", "input": {"order": {"id": "A-1", "total": 5000}}, "answer": True},
        {"name": "order 200", "input": {"order": {"id": "A-2", "total": 200}}, "answer": True},
    ],
    "loop": [{"name": "redraft", "input": {"topic": "a slogan for tea"}}],
    "switch": [{"name": "support ticket", "input": {"text": "My login fails"}}],
    "subworkflow": [
        {"name": "child not registered", "input": {"customer": {"name": "Ada", "tier": "gold"}}},
    ],
    "enrich_child": [{"name": "alone", "input": {"input": {"name": "Ada", "tier": "gold"}}}],
    "team": [{"name": "team not registered", "input": {"text": "help"}}],
}


# --- running ----------------------------------------------------------------------------


class Answer:
    def __init__(self, approved: bool | None, responder: str) -> None:
        self.approved = approved
        self.responder_id = responder
        self.comment = "ok" if approved else "over budget"
        self.reason = None if approved else "over budget"
        self.input_data = None
        self.review_changes = None


class Request:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id


class HumanDesk:
    """Stands in for llmteam's licensed HumanInteractionManager: records requests, answers at once."""

    def __init__(self, approved: bool | None) -> None:
        self.approved = approved
        self.requests: list[dict[str, Any]] = []

    async def request_approval(self, **kwargs: Any) -> Request:
        self.requests.append({"kind": "approval", **kwargs})
        return Request(f"req-{len(self.requests)}")

    async def request_choice(self, **kwargs: Any) -> Request:
        self.requests.append({"kind": "choice", **kwargs})
        return Request(f"req-{len(self.requests)}")

    async def request_input(self, **kwargs: Any) -> Request:
        self.requests.append({"kind": "input", **kwargs})
        return Request(f"req-{len(self.requests)}")

    async def wait_for_response(self, request_id: str) -> Answer:
        """The assignee answers (anyone, `finance`, when the task names nobody)."""
        request = self.requests[int(request_id.removeprefix("req-")) - 1]
        return Answer(self.approved, request.get("assignee") or "finance")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


async def run_scenario(defn: Any, scenario: dict[str, Any]) -> dict[str, Any]:
    catalog = StepCatalog.instance()
    step_inputs: dict[str, list[Any]] = {}
    desk = HumanDesk(scenario.get("answer"))
    if HumanTaskHandler is not None and MINOR >= (2, 1):
        catalog._handlers["human_task"] = HumanTaskHandler(manager=desk)
    originals = dict(catalog._handlers)

    def recording(handler: Any) -> Any:
        async def wrapped(ctx: Any, config: dict[str, Any], input_data: dict[str, Any]) -> Any:
            step_inputs.setdefault(ctx.step_id, []).append(_jsonable(input_data))
            return await handler(ctx, config, input_data)

        return wrapped

    for type_id, handler in originals.items():
        catalog._handlers[type_id] = recording(handler)
    llm = MockLLMProvider(patterns=LLM_PATTERNS)
    http = MockHTTPClient(responses=dict(HTTP_RESPONSES))
    runtime = RuntimeContext(tenant_id="acme", instance_id="corpus", run_id="run-1", segment_id=defn_id(defn))
    for name in scenario.get("llms", ["default", "fast", "writer"]):
        runtime.llms.register(name, llm)
    for name in ("default", "crm", "erp"):
        runtime.clients.register(name, http)
    config = RunConfig(max_retries=0, retry_delay=0 if V5 else timedelta(0))
    try:
        if V5:
            result = await ExecutionEngine(catalog=catalog).run(
                defn, runtime, scenario["input"], config=config
            )
        else:
            result = await SegmentRunner(catalog=catalog).run(defn, runtime, scenario["input"], config=config)
    finally:
        catalog._handlers.clear()
        catalog._handlers.update(originals)
    record = {
        "scenario": scenario["name"],
        "input": scenario["input"],
        "status": str(getattr(result.status, "value", result.status)),
        "output": _jsonable(result.output),
        "error": _jsonable(result.error),
        "step_inputs": step_inputs,
        "llm_calls": [
            {
                "prompt": c["prompt"],
                "system_prompt": c["kwargs"].get("system_prompt"),
                "temperature": c["kwargs"].get("temperature"),
                "max_tokens": c["kwargs"].get("max_tokens"),
            }
            for c in llm.calls
        ],
        "http_calls": [
            {"method": c["method"], "path": c["path"], "json": _jsonable(c["kwargs"].get("json"))}
            for c in http.calls
        ],
        "human_requests": [{k: _jsonable(v) for k, v in r.items() if k != "run_id"} for r in desk.requests],
    }
    if hasattr(result, "completed_steps"):
        record["completed_steps"] = list(result.completed_steps)
    if "answer" in scenario:
        record["answer"] = scenario["answer"]
    return record


def defn_id(defn: Any) -> str:
    return getattr(defn, "workflow_id", None) or defn.segment_id


def _run_in_child(name: str, scenario: dict[str, Any], queue: Any) -> None:
    try:
        queue.put(asyncio.run(run_scenario(DEFINITIONS[name](), scenario)))
    except Exception:  # a crash of llmteam's own code is what it did: record it
        queue.put(
            {
                "scenario": scenario["name"],
                "input": scenario["input"],
                "status": "crashed",
                "error": traceback.format_exc(limit=3),
            }
        )


def run_bounded(name: str, scenario: dict[str, Any], seconds: float = 20) -> dict[str, Any]:
    """Each run in its own process: llmteam's runner spins without awaiting on a cycle, so only a
    process boundary can stop it."""
    queue: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=_run_in_child, args=(name, scenario, queue))
    process.start()
    process.join(seconds)
    if process.is_alive():
        process.kill()
        process.join()
        return {
            "scenario": scenario["name"],
            "input": scenario["input"],
            "status": "hung",
            "error": f"no result after {seconds:.0f} s: the runner spins on the cycle without awaiting",
        }
    return queue.get(timeout=5)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, build in DEFINITIONS.items():
        exported = build().to_dict()
        (out / f"{name}.json").write_text(json.dumps(exported, indent=2) + "\n")
        runs = [run_bounded(name, scenario) for scenario in SCENARIOS.get(name, [])]
        recording = {"llmteam_version": LLMTEAM_VERSION, "definition": f"{name}.json", "runs": runs}
        (out / f"{name}.recording.json").write_text(json.dumps(recording, indent=2, default=str) + "\n")
        print(name, [r["status"] for r in runs])


if __name__ == "__main__":
    main()
