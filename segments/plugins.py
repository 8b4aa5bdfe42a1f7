"""Plugins: modules that add step types, loaded alike by the worker, the CLI and the gateway.

`SEGMENTS_PLUGINS=mycompany.steps,other.module` names modules; each has a function
`register(registry)` that calls `registry.add_function_step(...)` (see `activities.functions`).
The worker runs the functions; the CLI and gateway only need their catalog entries.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping

from segments.errors import SegmentError

PLUGINS_ENV = "SEGMENTS_PLUGINS"


class PluginError(SegmentError, RuntimeError):
    """A module named in SEGMENTS_PLUGINS cannot be imported or has no register(registry)."""


def plugin_modules(environ: Mapping[str, str] | None = None) -> list[str]:
    env = environ if environ is not None else os.environ
    return [name.strip() for name in env.get(PLUGINS_ENV, "").split(",") if name.strip()]


def import_plugin(name: str) -> object:
    """Import a plugin module the way `python worker.py` finds it: from the installed packages or
    the current folder (a console script such as `segments` does not have the current folder on
    its path by itself)."""
    here = os.getcwd()
    if here not in sys.path:
        sys.path.append(here)
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        raise PluginError(
            f"{PLUGINS_ENV} names '{name}', which cannot be imported from {here} or the installed "
            f"packages: {err}"
        ) from None
    if not callable(getattr(module, "register", None)):
        raise PluginError(f"plugin module '{name}' ({PLUGINS_ENV}) has no register(registry) function")
    return module
