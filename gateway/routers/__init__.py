"""One router per concern: catalog/segments, runs, tasks, events (SSE), slack."""
