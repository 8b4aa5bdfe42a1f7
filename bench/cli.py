"""`python -m bench`: one JSON line per scenario as it ends, then a Markdown table."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from bench.report import ScenarioResult, markdown_table
from bench.runner import run_bench
from bench.scenarios import SCENARIOS
from bench.server import temporal


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="The generic interpreter against hand-written Temporal workflows, run alternately.",
    )
    parser.add_argument(
        "--address", help="an existing Temporal frontend (host:port); by default a dev server of its own"
    )
    parser.add_argument("--namespace", default="default")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from: {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="smallest sizes: a smoke run, not figures")
    return parser.parse_args(argv)


def _print_line(result: ScenarioResult) -> None:
    print(result.json_line(), flush=True)


async def _main(args: argparse.Namespace) -> None:
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    async with temporal(args.address, args.namespace) as (client, address):
        results = await run_bench(
            client, address, scenarios, namespace=args.namespace, quick=args.quick, emit=_print_line
        )
    print()
    print(markdown_table(results))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        asyncio.run(_main(args))
    except ValueError as err:
        raise SystemExit(f"bench: {err}") from None


if __name__ == "__main__":
    main()
