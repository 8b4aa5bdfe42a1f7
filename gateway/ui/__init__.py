"""The run page: a run drawn on its graph, live, served by the gateway (no build step, no CDN)."""
