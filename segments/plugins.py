"""Plugins: modules that add step types, loaded alike by the worker, the CLI and the gateway.

`SEGMENTS_PLUGINS=mycompany.steps,other.module` names modules; each has a function
`register(registry)` that calls `registry.add_function_step(...)` (see `activities.functions`).
The worker runs the functions; the CLI and gateway only need their catalog entries.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

PLUGINS_ENV = "SEGMENTS_PLUGINS"


def plugin_modules(environ: Mapping[str, str] | None = None) -> list[str]:
    env = environ if environ is not None else os.environ
    return [name.strip() for name in env.get(PLUGINS_ENV, "").split(",") if name.strip()]


def import_plugin(name: str) -> object:
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        raise RuntimeError(f"{PLUGINS_ENV} names '{name}', which cannot be imported: {err}") from None
    if not callable(getattr(module, "register", None)):
        raise RuntimeError(f"plugin module '{name}' has no register(registry) function")
    return module
