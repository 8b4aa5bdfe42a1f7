"""`segments`: the command line for validating, running and watching segments.

Exit codes: 0 success; 1 the definition is invalid or the run failed; 2 bad arguments or
files; 3 Temporal cannot be reached; 4 no such run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, CancelledError, TerminatedError
from temporalio.service import RPCError, RPCStatusCode

from client.api import SegmentsClient, check_run_options, load_catalog, refusal_of
from client.audit import export_audit, to_jsonl, verify_lines
from client.cli_graph import (
    DEFAULT_GATEWAY_URL,
    GATEWAY_URL_VARIABLE,
    GraphError,
    mermaid_of,
    open_link,
    page_link,
    write_graph,
)
from client.codec import ENCRYPTED_ENCODING, ENV_KEYS
from client.namespaces import create_namespace, missing_setup
from client.settings import ConnectionSettings
from segments.dialects.loader import load_definition, validate_any
from segments.models import SegmentDefinition
from segments.plugins import PluginError
from segments.validation import InvalidSegment
from workflows.contract import PHASES
from workflows.search_attributes import TENANT_ID

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_FOUND = 1, 2, 3, 4


Command = Callable[[argparse.Namespace], Awaitable[int]]


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def read_json_file(path: str, what: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as err:
        raise CliError(f"cannot read {what} '{path}': {err.strerror}", EXIT_USAGE) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise CliError(
            f"{what} '{path}' is not JSON: {err.msg} at line {err.lineno}, column {err.colno}", EXIT_USAGE
        ) from None


def parse_input(value: str | None) -> Any:
    """`--input '{"a": 1}'` or `--input @file.json`."""
    if value is None:
        return {}
    if value.startswith("@"):
        return read_json_file(value[1:], "input file")
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise CliError(f"--input is not JSON ({err.msg}); pass JSON or @file.json", EXIT_USAGE) from None


def _invalid(err: InvalidSegment) -> CliError:
    return CliError(str(err), EXIT_FAILED)


async def _connect(args: argparse.Namespace) -> SegmentsClient:
    settings = ConnectionSettings.from_env().with_arguments(args)
    catalog = load_catalog()  # a plugin that cannot be imported is reported as such, not as "unreachable"
    try:
        temporal = await settings.connect()
    except RuntimeError as err:
        raise CliError(
            f"cannot reach Temporal at {settings.address} (namespace {settings.namespace}): {err}\n"
            "Is the server running? Start one with: bash scripts/demo.sh (or: temporal server start-dev, "
            f"then: segments namespace create {settings.namespace})",
            EXIT_UNREACHABLE,
        ) from None
    return SegmentsClient(temporal, settings.task_queue, catalog)


def parse_options(values: list[str] | None) -> dict[str, int]:
    """`--option continue_as_new_after_steps=50`, repeatable."""
    options: dict[str, int] = {}
    for value in values or []:
        key, sep, number = value.partition("=")
        if not sep or not number.strip().isdigit():
            raise CliError(
                f"--option takes KEY=NUMBER, e.g. continue_as_new_after_steps=50, not '{value}'", EXIT_USAGE
            )
        options[key.strip()] = int(number)
    try:
        check_run_options(options)
    except ValueError as err:
        raise CliError(f"--option: {err}", EXIT_USAGE) from None
    return options


def _failure_message(err: WorkflowFailureError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    if isinstance(cause, CancelledError):
        return "the run was cancelled"
    if isinstance(cause, TerminatedError):
        return "the run was terminated"
    return str(cause or err)


# --- commands ---------------------------------------------------------------------------


async def cmd_validate(args: argparse.Namespace) -> int:
    definition = read_json_file(args.file, "definition")
    problems = validate_any(definition, load_catalog())
    if problems:
        for problem in problems:
            print(problem)
        print(f"{args.file}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.file}: valid")
    return 0


async def cmd_import(args: argparse.Namespace) -> int:
    """Print the translation of an export in another dialect (llmteam) and, on stderr, its notes."""
    source = read_json_file(args.file, "definition")
    loaded = load_definition(source)
    if loaded.dialect is None:
        raise CliError(f"{args.file}: not an llmteam export; it is in this engine's format", EXIT_FAILED)
    problems = validate_any(source, load_catalog())
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    if loaded.definition is not None and not loaded.problems:
        _print_json(loaded.definition)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        count = len(problems)
        print(f"{args.file}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.file}: {loaded.dialect} export translated ({len(loaded.notes)} notes)", file=sys.stderr)
    return 0


async def cmd_catalog(args: argparse.Namespace) -> int:
    _print_json(load_catalog().export_for_ui())
    return 0


async def cmd_schema(args: argparse.Namespace) -> int:
    """The definition format as JSON Schema: the machine-readable twin of docs/format.md."""
    _print_json(SegmentDefinition.json_schema())
    return 0


async def _start(args: argparse.Namespace) -> tuple[SegmentsClient, Any]:
    definition = read_json_file(args.file, "definition")
    run_input = parse_input(args.input)
    options = parse_options(args.option)
    client = await _connect(args)
    try:
        handle = await client.start(
            definition, run_input, tenant_id=args.tenant, run_id=args.id, options=options or None
        )
    except InvalidSegment as err:
        raise _invalid(err) from None
    except RPCError:
        # Most often a namespace without the search attributes every run sets: say which, and the fix.
        missing = await missing_setup(client.temporal, client.temporal.namespace)
        if missing:
            raise CliError(f"cannot start the run: {missing}", EXIT_FAILED) from None
        raise
    return client, handle


async def cmd_start(args: argparse.Namespace) -> int:
    client, handle = await _start(args)
    print(handle.id)
    print(f"Web UI: {client.web_ui_link(handle.id)}", file=sys.stderr)
    return 0


async def cmd_run(args: argparse.Namespace) -> int:
    client, handle = await _start(args)
    print(f"started {handle.id}\nWeb UI: {client.web_ui_link(handle.id)}", file=sys.stderr)
    hint = asyncio.create_task(_say_when_waiting_for_people(client, handle.id))
    try:
        result = await handle.result()
    except WorkflowFailureError as err:
        raise CliError(f"run {handle.id} failed: {_failure_message(err)}", EXIT_FAILED) from None
    finally:
        hint.cancel()
    _print_json(result)
    return 0


async def _say_when_waiting_for_people(client: SegmentsClient, run_id: str) -> None:
    """`segments run` blocks until the result; a run that waits for a person says so, once."""
    while True:
        await asyncio.sleep(1.0)
        try:
            status = await client.status(run_id)
        except Exception:  # a query can fail while the run is between workflow tasks; ask again
            continue
        if status.get("phase") == "waiting_human":
            tasks = ", ".join(
                f"{t.get('task_id')} ({t.get('assignee') or 'anyone'})" for t in status.get("open_tasks", [])
            )
            print(
                f"waiting for a person: {tasks}. Answer from another shell, e.g.: segments tasks {run_id}",
                file=sys.stderr,
            )
            return


async def cmd_status(args: argparse.Namespace) -> int:
    client = await _connect(args)
    _print_json(await client.status(args.run_id))
    return 0


ENDED_PHASES = ("completed", "failed", "cancelled")


async def cmd_wait(args: argparse.Namespace) -> int:
    """`wait RUN_ID --phase waiting_human`: until the run reaches the phase (or ends); for scripts."""
    client = await _connect(args)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout
    phase = None
    while loop.time() < deadline:
        try:
            phase = (await client.status(args.run_id)).get("phase")
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise
            phase = None  # between workflow tasks, or not started yet: ask again
        if phase == args.phase or (phase in ENDED_PHASES and args.phase not in ENDED_PHASES):
            break
        await asyncio.sleep(0.5)
    print(phase)
    if phase != args.phase:
        raise CliError(f"run '{args.run_id}' is {phase}, not {args.phase}", EXIT_FAILED)
    return 0


async def cmd_result(args: argparse.Namespace) -> int:
    client = await _connect(args)
    try:
        _print_json(await client.result(args.run_id))
    except WorkflowFailureError as err:
        raise CliError(f"run {args.run_id} failed: {_failure_message(err)}", EXIT_FAILED) from None
    return 0


async def cmd_list(args: argparse.Namespace) -> int:
    client = await _connect(args)
    try:
        runs = await client.list_runs(
            segment_id=args.segment, tenant_id=args.tenant, phase=args.phase, limit=args.limit
        )
    except ValueError as err:
        raise CliError(str(err), EXIT_USAGE) from None
    _print_json([asdict(run) for run in runs])
    return 0


def _control(action: str) -> Command:
    async def command(args: argparse.Namespace) -> int:
        client = await _connect(args)
        description = await client.handle(args.run_id).describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            ended = description.status.name.lower() if description.status else "closed"
            raise CliError(
                f"run '{args.run_id}' has already ended ({ended}); there is nothing to {action}", EXIT_FAILED
            )
        await getattr(client, action)(args.run_id)
        print(f"{action}: sent to {args.run_id}")
        return 0

    return command


async def cmd_namespace(args: argparse.Namespace) -> int:
    """`namespace create NAME`: the namespace with the search attributes runs set, ready for runs."""
    settings = ConnectionSettings.from_env().with_arguments(args)
    try:
        temporal = await settings.connect()
    except RuntimeError as err:
        raise CliError(f"cannot reach Temporal at {settings.address}: {err}", EXIT_UNREACHABLE) from None
    done = await create_namespace(temporal, args.name)
    for line in done or [
        f"namespace '{args.name}' is ready: it exists and has SegmentId, TenantId, SegmentPhase"
    ]:
        print(line)
    return 0


async def cmd_audit(args: argparse.Namespace) -> int:
    """`audit RUN_ID [--out FILE]` exports; `audit verify FILE [--head HASH]` checks an export."""
    if args.target == "verify":
        if not args.file:
            raise CliError("audit verify needs the exported file: segments audit verify FILE", EXIT_USAGE)
        try:
            lines = Path(args.file).read_text().splitlines()
        except OSError as err:
            raise CliError(f"cannot read audit file '{args.file}': {err.strerror}", EXIT_USAGE) from None
        verdict = verify_lines(lines, expected_head=args.head)
        if not verdict.ok:
            print(f"{args.file}: line {verdict.first_bad_line}: {verdict.reason}")
            return EXIT_FAILED
        print(f"{args.file}: {verdict.count} lines, chain intact, head {verdict.head}")
        return 0
    client = await _connect(args)
    records = await export_audit(client.temporal, args.target)
    text = to_jsonl(records)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    head = records[-1]["hash"] if records else None
    print(f"{len(records)} audit lines for {args.target}; head {head}", file=sys.stderr)
    return 0


async def cmd_graph(args: argparse.Namespace) -> int:
    definition = read_json_file(args.file, "definition")
    try:
        write_graph(mermaid_of(definition, args.file), args.out)
    except GraphError as err:
        raise CliError(str(err), err.code) from None
    return 0


async def cmd_open(args: argparse.Namespace) -> int:
    """The run page's link, signed for the run's tenant (read from Temporal) and `--as` user."""
    client = await _connect(args)
    description = await client.handle(args.run_id).describe()
    tenant = description.typed_search_attributes.get(TENANT_ID)
    try:
        link = page_link(args.run_id, tenant, args.user, args.gateway, args.minutes)
    except GraphError as err:
        raise CliError(str(err), err.code) from None
    open_link(link, browser=not args.no_browser)
    print(f"Web UI: {client.web_ui_link(args.run_id)}", file=sys.stderr)
    return 0


# --- human tasks --------------------------------------------------------------------------


async def cmd_tasks(args: argparse.Namespace) -> int:
    client = await _connect(args)
    _print_json(await client.tasks(args.run_id))
    return 0


def _answer(args: argparse.Namespace) -> dict[str, Any]:
    if args.command in ("approve", "reject"):
        return {"decision": args.command, "comment": args.comment}
    if args.command == "choose":
        return {"option": args.option, "comment": args.comment}
    data = None
    if args.data is not None:
        data = parse_input(args.data) if args.data.startswith("@") else _json_arg(args.data, "--data")
    return {"data": data, "decision": args.decision, "comment": args.comment}


def _json_arg(value: str, flag: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise CliError(f"{flag} is not JSON ({err.msg}); pass JSON or @file.json", EXIT_USAGE) from None


async def cmd_respond(args: argparse.Namespace) -> int:
    """approve / reject / choose / respond: the `respond` update; a refusal prints why, exit 1."""
    client = await _connect(args)
    try:
        accepted = await client.respond(args.run_id, args.task_id, args.responder, **_answer(args))
    except WorkflowUpdateFailedError as err:
        raise CliError(f"refused: {refusal_of(err).reason}", EXIT_FAILED) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND and await _exists(client, args.run_id):
            raise CliError(
                f"run '{args.run_id}' has already ended; it takes no more answers", EXIT_FAILED
            ) from None
        raise
    _print_json(accepted)
    return 0


async def _exists(client: SegmentsClient, run_id: str) -> bool:
    """Whether the run exists (ended or not): an update to an ended run fails as NOT_FOUND."""
    try:
        await client.handle(run_id).describe()
    except RPCError:
        return False
    return True


# --- parser -----------------------------------------------------------------------------


class _SubParsers:
    """Every subcommand also takes the connection flags, before or after its own arguments."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        self._common = argparse.ArgumentParser(add_help=False)
        ConnectionSettings.add_arguments(self._common, suppress=True)

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if kwargs.get("add_help", True):
            kwargs.setdefault("parents", [self._common])
        return self._sub.add_parser(name, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segments",
        description="Validate, run and watch segments on Temporal.",
        epilog="--address, --namespace and --task-queue go before or after the command.",
    )
    ConnectionSettings.add_arguments(parser)
    sub = _SubParsers(parser)

    p = sub.add_parser("validate", help="check a definition and print every problem")
    p.add_argument("file", help="definition JSON file, or - for standard input")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("import", help="translate an llmteam export: print the definition, notes on stderr")
    p.add_argument("file", help="llmteam export (JSON file), or - for standard input")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("catalog", help="print the step catalog (export_for_ui) as JSON")
    p.set_defaults(handler=cmd_catalog)

    p = sub.add_parser("graph", help="print a definition as a Mermaid flowchart")
    p.add_argument("file", help="definition JSON file, or - for standard input")
    p.add_argument("--out", help="write the diagram to this file instead of standard output")
    p.set_defaults(handler=cmd_graph)

    p = sub.add_parser("open", help="print (and open in a browser) the link to the run's page on the gateway")
    p.add_argument("run_id")
    p.add_argument("--as", dest="user", help="the page answers the run's tasks as this user")
    p.add_argument(
        "--gateway", help=f"the gateway's URL (default ${GATEWAY_URL_VARIABLE}, else {DEFAULT_GATEWAY_URL})"
    )
    p.add_argument("--minutes", type=int, default=15, help="how long the link may be opened (default 15)")
    p.add_argument("--no-browser", action="store_true", help="only print the link")
    p.set_defaults(handler=cmd_open)
    p = sub.add_parser("schema", help="print the JSON Schema of a definition (docs/format.md in JSON)")
    p.set_defaults(handler=cmd_schema)

    start_commands: tuple[tuple[str, Command, str], ...] = (
        ("run", cmd_run, "start a run and wait for its result"),
        ("start", cmd_start, "start a run and print its id"),
    )
    for name, handler, text in start_commands:
        p = sub.add_parser(name, help=text)
        p.add_argument("file", help="definition JSON file")
        p.add_argument("--input", help="the run's input: JSON, or @file.json")
        p.add_argument("--tenant", help="tenant id (search attribute TenantId)")
        p.add_argument("--id", help="the run id (workflow id); default <segment_id>-<random>")
        p.add_argument(
            "--option",
            action="append",
            metavar="KEY=NUMBER",
            help="a run option, e.g. continue_as_new_after_steps=50 (repeatable; at least 20)",
        )
        p.set_defaults(handler=handler)

    run_commands: tuple[tuple[str, Command, str], ...] = (
        ("status", cmd_status, "the run's status query"),
        ("result", cmd_result, "wait for and print the run's result"),
        ("pause", _control("pause"), "no new step starts until resume"),
        ("resume", _control("resume"), "resume a paused run"),
        ("cancel", _control("cancel"), "cancel the run"),
    )
    for name, handler, text in run_commands:
        p = sub.add_parser(name, help=text)
        p.add_argument("run_id")
        p.set_defaults(handler=handler)

    p = sub.add_parser("wait", help="wait until the run reaches a phase (e.g. waiting_human); print it")
    p.add_argument("run_id")
    p.add_argument("--phase", required=True, choices=["running", "waiting_human", "paused", *ENDED_PHASES])
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait at most (default 60)")
    p.set_defaults(handler=cmd_wait)

    p = sub.add_parser("audit", help="export a run's audit trail (JSON lines), or verify an export")
    p.add_argument("target", metavar="RUN_ID|verify", help="the run to export, or 'verify'")
    p.add_argument("file", nargs="?", help="with verify: the exported file")
    p.add_argument("--out", help="write the export to this file instead of standard output")
    p.add_argument("--head", help="with verify: the last line's hash, kept elsewhere, to detect a cut tail")
    p.set_defaults(handler=cmd_audit)

    sub.add_parser(
        "gateway", help="serve the HTTP gateway for canvas platforms and Slack (see --help)", add_help=False
    )
    p = sub.add_parser("codec", help="codec keygen: print a new encryption key for SEGMENTS_CODEC_KEYS")
    p.add_argument("action", choices=["keygen"])
    p.add_argument("--key-id", default="k1", help="the key's id (default k1)")
    p.set_defaults(handler=cmd_codec)
    sub.add_parser(
        "codec-server", help="serve the payload codec for the Temporal Web UI (see --help)", add_help=False
    )

    p = sub.add_parser("tasks", help="list the run's open human tasks")
    p.add_argument("run_id")
    p.set_defaults(handler=cmd_tasks)

    for name, text in (
        ("approve", "approve an approval task"),
        ("reject", "reject an approval task"),
        ("choose", "pick an option of a choice task"),
        ("respond", "answer an input or review task"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("run_id")
        p.add_argument("task_id", help="as `segments tasks` lists it, e.g. approve or 'enrich[2]/approve'")
        if name == "choose":
            p.add_argument("option", help="the option's id")
        if name == "respond":
            p.add_argument("--data", help="the answer's data: JSON, or @file.json")
            p.add_argument("--decision", choices=["approve", "reject"])
        p.add_argument("--as", dest="responder", required=True, help="your user name")
        p.add_argument("--comment")
        p.set_defaults(handler=cmd_respond)

    p = sub.add_parser("list", help="list runs by segment, tenant or phase")
    p.add_argument("--segment")
    p.add_argument("--tenant")
    p.add_argument("--phase", choices=PHASES)
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser(
        "namespace", help="make a namespace ready for runs (create it, register search attributes)"
    )
    p.add_argument("action", choices=["create"])
    p.add_argument("name", help="the namespace, e.g. acme")
    p.set_defaults(handler=cmd_namespace)

    from client.cli_operator import add_commands  # imports this module: here, not at the top

    add_commands(sub)
    return parser


def new_codec_key(key_id: str = "k1") -> str:
    """A fresh 32-byte AES key in the form SEGMENTS_CODEC_KEYS reads: `keyid:base64key`."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


async def cmd_codec(args: argparse.Namespace) -> int:
    print(new_codec_key(args.key_id))
    return 0


def _exit(message: str | None, code: int) -> NoReturn:
    """Leave with `code`. os._exit, because the Temporal SDK's native threads can abort a normal
    interpreter shutdown after a failed connection, which would turn exit code 3 into 134."""
    try:
        if message:
            print(f"segments: {message}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `segments catalog | head`: the reader has gone, which is fine
        pass
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["codec-server"]:
        from client.codec_server import main as codec_server_main

        _exit(None, codec_server_main(argv[1:]))
    if argv[:1] == ["gateway"]:
        from gateway.__main__ import main as gateway_main

        _exit(None, gateway_main(argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        code = asyncio.run(args.handler(args))
    except CliError as err:
        _exit(str(err), err.code)
    except PluginError as err:
        _exit(str(err), EXIT_USAGE)
    except BrokenPipeError:
        _exit(None, 0)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            _exit(
                f"no run '{getattr(args, 'run_id', '?')}' in this namespace ({err.message})", EXIT_NOT_FOUND
            )
        if err.status == RPCStatusCode.UNAVAILABLE:
            _exit(f"Temporal is unavailable: {err.message}", EXIT_UNREACHABLE)
        _exit(f"Temporal refused the request: {err.message}", EXIT_FAILED)
    except KeyboardInterrupt:
        _exit("interrupted", 130)
    except Exception as err:
        if ENCRYPTED_ENCODING.decode() in str(err):
            _exit(
                f"the run's payloads are encrypted and this client has no key for them: set {ENV_KEYS} "
                "(and SEGMENTS_CODEC_KEY_ID) as the worker has them",
                EXIT_USAGE,
            )
        raise
    _exit(None, code)


if __name__ == "__main__":
    main()
