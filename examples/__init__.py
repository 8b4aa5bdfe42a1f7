"""Runnable example segments (`*.json`, with their `*.input.json`) and the stand-ins they call."""
