"""How a large map is cut into batches: items per child workflow, children at once, the bounds.

A map over many items would otherwise start one child workflow per item, and the dev server
starts children at about ten per second: a 10,000-item map would take most of 20 minutes. Like
Step Functions' ItemBatcher, a batched map hands each child workflow a run of consecutive items;
the child runs each item on its own (own scope, `item`, `index`, task path `enrich[7]/`, so its
own idempotency keys and errors) and returns one entry per item. Pure code, no Temporal calls.

The bounds that keep every history under Temporal's limits (10,240 events is where the server
starts warning; 50 MB of history and 2,000 pending children per workflow are hard limits):

- a batch's items are chosen so that its history stays under `MAX_BATCH_EVENTS`, from an
  estimate of the events one item costs (its steps, by how they run);
- the parent starts at most `MAX_BATCHES` children for one map (about five events each);
- `max_concurrency` keeps its meaning, items in flight: a batch runs at most that many of its
  items at once (and never more than `ITEMS_AT_ONCE_PER_BATCH`), and the parent runs as many
  batches as fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from segments.catalog import Catalog

SMALL_MAP = 100
"""Up to this many items a map runs one child per item (each visible on its own in the Web UI)
unless the split sets `batch_size`."""
TARGET_BATCHES = 100
"""A larger map is shared by about this many children."""
MAX_BATCHES = 1_000
"""Children one map may start: about 5,000 events in the parent's history."""
MAX_BATCH_EVENTS = 5_000
"""The estimated history length a batch may reach."""
BATCH_OVERHEAD_EVENTS = 50
"""A batch's own events: start, end, and the workflow tasks between its items."""
EVENTS_BY_RUNS_AS = {"activity": 6, "local_activity": 2, "workflow": 0}
"""Events one visit of a step costs in history, by how its type runs (an activity: scheduled,
started, completed and a workflow task; a local activity: its marker and part of a task;
conditions and joins: none)."""
EVENTS_OTHER = 20
"""Human tasks, nested splits and anything else: timers, signals, children."""


ITEMS_AT_ONCE_PER_BATCH = 20
"""Items one batch runs at the same time: starting an item is Python work in one workflow
activation, and an activation that runs for more than 2 s counts as a deadlock; more batches at
once make up for it."""


@dataclass(frozen=True)
class BatchPlan:
    size: int
    """Items per batch (1: one child per item, the unbatched map)."""
    items_at_once: int
    """Items one batch runs at the same time."""
    batches_at_once: int
    """Batches the parent runs at the same time."""


def events_per_item(segment: dict[str, Any], catalog: Catalog) -> int:
    """An upper estimate of the history events one item's branch adds to its batch."""
    total = 0
    for step in segment["steps"]:
        step_type = catalog.get(step["type"])
        runs_as = step_type.runs_as if step_type else None
        total += EVENTS_BY_RUNS_AS.get(runs_as or "", EVENTS_OTHER)
    return max(1, total)


def largest_batch(per_item: int) -> int:
    return max(1, (MAX_BATCH_EVENTS - BATCH_OVERHEAD_EVENTS) // per_item)


def batch_size(items: int, requested: int | None, per_item: int) -> int:
    """Items per batch: `requested`, else 1 for a small map, else about `items / TARGET_BATCHES`,
    never more than keeps a batch's history under `MAX_BATCH_EVENTS`. A requested size that
    would break that bound is an error for the caller to report (`check_batches`)."""
    if requested is not None:
        return requested
    if items <= SMALL_MAP:
        return 1
    wanted = max(math.ceil(items / TARGET_BATCHES), math.ceil(items / MAX_BATCHES))
    return min(wanted, largest_batch(per_item))


def check_batches(items: int, size: int, per_item: int) -> str | None:
    """Why this map cannot run in batches of `size`, or None."""
    if size > 1 and size > largest_batch(per_item):
        return (
            f"batch_size {size} with about {per_item} history events per item would take a batch "
            f"past {MAX_BATCH_EVENTS:,} events; use batch_size {largest_batch(per_item)} or less"
        )
    batches = math.ceil(items / size) if items else 0
    if size > 1 and batches > MAX_BATCHES:
        return (
            f"{items:,} items in batches of {size} make {batches:,} child workflows, past the "
            f"{MAX_BATCHES:,} one map may start; raise batch_size or split the list upstream"
        )
    return None


def plan(items: int, size: int, max_in_flight: int) -> BatchPlan:
    at_once = min(size, max_in_flight, ITEMS_AT_ONCE_PER_BATCH)
    return BatchPlan(size, at_once, max(1, max_in_flight // at_once))


def batch_ranges(items: int, size: int) -> list[range]:
    """Consecutive positions, `size` at a time."""
    return [range(first, min(first + size, items)) for first in range(0, items, size)]
