"""Config models of `parallel_split` and `parallel_join`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_BATCH_SIZE = 1_000


class ParallelSplitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: str | None = Field(
        None,
        min_length=1,
        description="JSONata giving a list: one branch per item (map), which sees `item` and `index`. "
        "A map split has exactly one outgoing edge. Without `items`, each outgoing edge is a branch.",
        json_schema_extra={"format": "jsonata"},
    )
    max_concurrency: int | None = Field(
        None,
        ge=1,
        le=500,
        description="The most branches (in a map: items) running at once (default: all, by batches of 500).",
    )
    batch_size: int | None = Field(
        None,
        ge=1,
        le=MAX_BATCH_SIZE,
        description="A map only: items per child workflow. Default: one child per item up to 100 items, "
        "else about 100 children sharing the items. Each item still runs on its own (its own `item`, "
        "`index`, errors and idempotency keys).",
    )

    @model_validator(mode="after")
    def _batch_size_needs_items(self) -> ParallelSplitConfig:
        if self.batch_size is not None and self.items is None:
            raise ValueError("batch_size applies to a map only: set `items`, or remove batch_size")
        return self


class AtLeast(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_least: int = Field(ge=1, description="Join once this many branches have succeeded.")


class ParallelJoinConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: Literal["all", "any"] | AtLeast = Field(
        "all",
        description="`all`: wait for every branch; `any`: go on at the first branch that succeeds; "
        '`{"at_least": n}`: go on once n branches have succeeded. The branches still running then are '
        "cancelled.",
    )
    on_branch_error: Literal["fail", "collect"] = Field(
        "fail",
        description="`fail`: a failed branch cancels the others and fails the split; `collect`: its error "
        "becomes its entry in `branches` and the others go on.",
    )

    def successes_needed(self, branch_count: int) -> int:
        """How many branches must succeed before the join goes on."""
        if self.policy == "all":
            return branch_count
        if self.policy == "any":
            return 1
        return self.policy.at_least
