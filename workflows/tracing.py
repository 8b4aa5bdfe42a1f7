"""Spans for the steps that run inside the workflow (conditions), when tracing is configured."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from temporalio.contrib.opentelemetry import TracingWorkflowInboundInterceptor
    from temporalio.contrib.opentelemetry.workflow import completed_span


def record_step_span(step_id: str, step_type: str, visit: int, port: str, task_path: str) -> None:
    """A completed span `Step:<step_id>`; nothing at all unless the worker runs the tracing
    interceptor (checked first, so untraced runs pay nothing and see no warning)."""
    if TracingWorkflowInboundInterceptor._from_context() is None:
        return
    completed_span(
        f"Step:{task_path}{step_id}",
        attributes={
            "segment.step_id": step_id,
            "segment.step_type": step_type,
            "segment.visit": visit,
            "segment.port": port,
            "segment.task_path": task_path,
        },
    )
