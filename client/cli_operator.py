"""The operator's commands of `segments`: `redrive` a failed run, and `schedule` segments.

segments redrive RUN_ID
segments schedule create ID FILE (--cron EXPR | --every PT1H) [--input JSON] [--overlap skip]
segments schedule list | describe ID | pause ID | unpause ID | delete ID
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from temporalio.client import ScheduleAlreadyRunningError
from temporalio.service import RPCError, RPCStatusCode

from client import cli as base
from client.api import SegmentsClient
from client.redrive import RedriveRefused, redrive
from client.schedules import OVERLAP_POLICIES, ScheduleRefused, ScheduleRequest, create_schedule, describe
from client.schedules import list_schedules as list_segment_schedules
from segments.validation import InvalidSegment


async def cmd_redrive(args: argparse.Namespace) -> int:
    client = await base._connect(args)
    try:
        done = await redrive(client.temporal, args.run_id)
    except RedriveRefused as err:
        raise base.CliError(str(err), base.EXIT_FAILED) from None
    print(f"redriven {done.run_id} from step '{done.failed_step}' (new Temporal run {done.new_temporal_run})")
    print(f"Web UI: {client.web_ui_link(done.run_id)}", file=sys.stderr)
    return 0


async def cmd_schedule(args: argparse.Namespace) -> int:
    client = await base._connect(args)
    temporal = client.temporal
    action = args.action
    if action == "list":
        base._print_json(await list_segment_schedules(temporal, args.tenant))
        return 0
    if not args.schedule_id:
        raise base.CliError(f"schedule {action} needs the schedule id", base.EXIT_USAGE)
    if action == "create":
        await _create(args, client)
        print(f"schedule {args.schedule_id} created")
        return 0
    handle = temporal.get_schedule_handle(args.schedule_id)
    try:
        if action == "describe":
            base._print_json(describe(await handle.describe()))
        elif action == "pause":
            await handle.pause(note=args.note or "paused with segments")
            print(f"schedule {args.schedule_id} paused")
        elif action == "unpause":
            await handle.unpause(note=args.note or "unpaused with segments")
            print(f"schedule {args.schedule_id} unpaused")
        elif action == "trigger":
            await handle.trigger()
            print(f"schedule {args.schedule_id} triggered: one run starts now")
        elif action == "delete":
            await handle.delete()
            print(f"schedule {args.schedule_id} deleted")
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise base.CliError(f"no schedule '{args.schedule_id}'", base.EXIT_NOT_FOUND) from None
        raise
    return 0


async def _create(args: argparse.Namespace, client: SegmentsClient) -> None:
    if not args.file:
        raise base.CliError(
            "schedule create needs the definition file: schedule create ID FILE", base.EXIT_USAGE
        )
    definition = base.read_json_file(args.file, "definition")
    problems = client.validate(definition)
    if problems:
        raise base._invalid(InvalidSegment(definition.get("segment_id"), problems))
    request = ScheduleRequest(
        schedule_id=args.schedule_id,
        definition=definition,
        run_input=base.parse_input(args.input),
        tenant_id=args.tenant,
        cron=args.cron,
        every=args.every,
        overlap=args.overlap,
        paused=args.paused,
        note=args.note or "",
    )
    try:
        await create_schedule(client.temporal, client.task_queue, request)
    except ScheduleRefused as err:
        raise base.CliError(str(err), base.EXIT_USAGE) from None
    except ScheduleAlreadyRunningError:
        raise base.CliError(f"schedule '{args.schedule_id}' exists already", base.EXIT_FAILED) from None


def add_commands(sub: Any) -> None:
    """Adds `redrive` and `schedule` to the `segments` parser."""
    p = sub.add_parser("redrive", help="continue a failed run from the step that failed")
    p.add_argument("run_id")
    p.set_defaults(handler=cmd_redrive)

    p = sub.add_parser("schedule", help="run a segment on a schedule (Temporal Schedules)")
    p.add_argument("action", choices=["create", "list", "describe", "pause", "unpause", "trigger", "delete"])
    p.add_argument("schedule_id", nargs="?", help="the schedule's id (all but list)")
    p.add_argument("file", nargs="?", help="create: the definition JSON file")
    p.add_argument("--cron", help="create: a cron expression, e.g. '0 9 * * MON-FRI'")
    p.add_argument("--every", help="create: an interval as an ISO 8601 duration, e.g. PT1H")
    p.add_argument("--input", help="create: each run's input: JSON, or @file.json")
    p.add_argument("--tenant", help="create: the runs' tenant; list: only this tenant's schedules")
    p.add_argument(
        "--overlap",
        default="skip",
        choices=list(OVERLAP_POLICIES),
        help="create: when a run is still running",
    )
    p.add_argument("--paused", action="store_true", help="create: start paused")
    p.add_argument("--note", help="a note shown with the schedule's state")
    p.set_defaults(handler=cmd_schedule)
