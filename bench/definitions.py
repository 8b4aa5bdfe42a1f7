"""The segments the benchmark runs: the engine's side of each scenario."""

from __future__ import annotations

from typing import Any


def _transform(step_id: str, expression: str) -> dict[str, Any]:
    return {"step_id": step_id, "type": "transform", "config": {"expression": expression}}


def linear_segment(steps: int) -> dict[str, Any]:
    """`steps` transforms in a row, step k adding k to the previous value, as `HandLinear` does."""
    chain = [_transform("s1", "{'value': input.value + 1}")]
    chain += [
        _transform(f"s{k}", f"{{'value': steps.s{k - 1}.output.value + {k}}}") for k in range(2, steps + 1)
    ]
    edges = [{"source": f"s{k}", "target": f"s{k + 1}"} for k in range(1, steps)]
    return {
        "segment_id": f"bench_linear_{steps}",
        "steps": chain,
        "edges": edges,
        "output": f"{{% steps.s{steps}.output %}}",
    }


def fanout_segment(branches: int) -> dict[str, Any]:
    """A split with one edge per branch, each branch one transform, and a join."""
    steps = [{"step_id": "split", "type": "parallel_split", "config": {}}]
    steps += [_transform(f"b{i}", f"{{'value': {i} + 1}}") for i in range(branches)]
    steps.append({"step_id": "join", "type": "parallel_join", "config": {}})
    edges = [{"source": "split", "target": f"b{i}"} for i in range(branches)]
    edges += [{"source": f"b{i}", "target": "join"} for i in range(branches)]
    return {"segment_id": f"bench_fanout_{branches}", "steps": steps, "edges": edges}


def map_segment() -> dict[str, Any]:
    """A map: one branch per item of `input.items`, each one transform, and a join."""
    return {
        "segment_id": "bench_map",
        "steps": [
            {"step_id": "split", "type": "parallel_split", "config": {"items": "input.items"}},
            _transform("work", "{'value': item + 1}"),
            {"step_id": "join", "type": "parallel_join", "config": {}},
        ],
        "edges": [{"source": "split", "target": "work"}, {"source": "work", "target": "join"}],
        "output": "{% steps.join.output.branches %}",
    }


APPROVAL_TASK = "ask"
APPROVER = "bench"


def approval_segment() -> dict[str, Any]:
    """An approval; once approved, one transform."""
    return {
        "segment_id": "bench_approval",
        "steps": [
            {
                "step_id": APPROVAL_TASK,
                "type": "human_task",
                "config": {"kind": "approval", "title": "Approve {% input.id %}", "assignee": APPROVER},
            },
            _transform("done", "{'approved': steps.ask.output.decision = 'approve'}"),
        ],
        "edges": [{"source": APPROVAL_TASK, "source_port": "approved", "target": "done"}],
        "output": "{% steps.done.output %}",
    }


def approval_answer() -> dict[str, Any]:
    return {"task_id": APPROVAL_TASK, "responder": APPROVER, "decision": "approve"}
