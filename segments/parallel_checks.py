"""Static checks of parallel_split / parallel_join pairs, for validation.

Each problem is `(step_id, message)`; validation turns the step id into its `steps[i]` path.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from segments.graph import JOIN_TYPE, SPLIT_TYPE, Graph
from segments.step_configs.parallel import AtLeast, ParallelJoinConfig, ParallelSplitConfig


def parallel_problems(graph: Graph, configs: Mapping[str, BaseModel | None]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    closed_by: dict[str, list[str]] = {}
    for split_id in graph.order:
        if graph.steps[split_id].type != SPLIT_TYPE:
            continue
        join_id, why = graph.matching_join(split_id)
        if join_id is None:
            problems.append(
                (
                    split_id,
                    f"parallel_split '{split_id}' has no matching parallel_join: {why}; "
                    "add a parallel_join where its branches meet",
                )
            )
        else:
            closed_by.setdefault(join_id, []).append(split_id)
        problems += _branch_problems(
            graph, split_id, join_id, configs.get(split_id), configs.get(join_id or "")
        )
    for join_id in graph.order:
        if graph.steps[join_id].type != JOIN_TYPE:
            continue
        splits = closed_by.get(join_id, [])
        if not splits:
            problems.append(
                (
                    join_id,
                    f"parallel_join '{join_id}' closes no parallel_split; "
                    "remove it or put a parallel_split before its branches",
                )
            )
        elif len(splits) > 1:
            problems.append(
                (
                    join_id,
                    f"parallel_join '{join_id}' closes several parallel_splits "
                    f"({', '.join(splits)}); give each split its own join",
                )
            )
    return problems


def _branch_problems(
    graph: Graph,
    split_id: str,
    join_id: str | None,
    split_config: BaseModel | None,
    join_config: BaseModel | None,
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    starts = graph.all_targets(split_id)
    is_map = isinstance(split_config, ParallelSplitConfig) and split_config.items is not None
    if is_map and len(starts) != 1:
        problems.append(
            (
                split_id,
                f"parallel_split '{split_id}' maps over `items`, so it needs exactly one "
                f"outgoing edge (the branch run for each item), not {len(starts)}",
            )
        )
    repeated = sorted({s for s in starts if starts.count(s) > 1})
    if repeated:
        problems.append(
            (
                split_id,
                f"parallel_split '{split_id}' has several edges to {', '.join(repeated)}; "
                "branches are named by the step they lead to, so each edge must lead to another step",
            )
        )
    if join_id is not None:
        for start in dict.fromkeys(starts):
            if split_id in graph.reachable(start, stop_at=frozenset({join_id})):
                problems.append(
                    (
                        split_id,
                        f"the branch of parallel_split '{split_id}' starting at '{start}' "
                        "leads back to the split before its join; loop inside the branch, or around "
                        "the whole split",
                    )
                )
    if (
        not is_map
        and isinstance(join_config, ParallelJoinConfig)
        and isinstance(join_config.policy, AtLeast)
        and join_config.policy.at_least > len(starts)
    ):
        problems.append(
            (
                join_id or split_id,
                f"parallel_join '{join_id}' waits for at least "
                f"{join_config.policy.at_least} branches, but parallel_split '{split_id}' has only "
                f"{len(starts)}",
            )
        )
    return problems
