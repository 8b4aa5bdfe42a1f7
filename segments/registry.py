"""The catalog that this process's workflows validate and run against.

The worker registers its extra step types here before it starts polling. Workflow code reads
it through `worker_catalog()`; this module is passed through Temporal's sandbox, so both see
the same object. Removing a type while runs that use it are in flight breaks their replay,
exactly like removing an activity: keep types registered until those runs end.
"""

from __future__ import annotations

from segments.builtin_types import default_catalog
from segments.catalog import Catalog

_catalog: Catalog = default_catalog()


def worker_catalog() -> Catalog:
    return _catalog


def use_catalog(catalog: Catalog) -> None:
    global _catalog
    _catalog = catalog
