"""`changebot` (also `python -m bot`): serve, socket, migrate, playground, and more."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from bot.settings import Config, ConfigError, Mode, load_config

if TYPE_CHECKING:
    from bot.evidence.period import Period

EXIT_CONFIG = 2
PLAYGROUND_DATABASE = "playground.db"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="changebot",
        description="Run your team's production change-management process in Slack.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve", help="serve Slack over HTTP (POST /slack/events)",
        description="Serve the bot over HTTP: Slack posts events, commands and interactions "
        "to /slack/events; GitHub posts to /github/webhook; /healthz and /metrics answer too. "
        "Brings the database schema up to date first. Settings come from the environment, "
        ".env and changebot.toml (see README.md, Configuration).",
    )
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.add_argument("--host", default="0.0.0.0",
                       help="the address to listen on (default: 0.0.0.0, every interface)")

    commands.add_parser(
        "socket", help="connect to Slack over Socket Mode (no public URL)",
        description="Connect to Slack over Socket Mode with SLACK_APP_TOKEN (xapp-...): no "
        "public URL needed. Brings the database schema up to date first.",
    )
    commands.add_parser(
        "migrate", help="bring the database schema up to date",
        description="Create the database named by DATABASE_URL if it is a SQLite file that "
        "does not exist yet, and bring its schema up to date; says which it did.",
    )

    playground = commands.add_parser(
        "playground", help="try Changebot in a browser with an embedded Slack stand-in",
        description="Run the real bot against a Slack stand-in and open it in a browser: no "
        "Slack workspace, no tokens. Its data goes to playground.db in this folder (fresh at "
        "each run) unless DATABASE_URL is set.",
    )
    playground.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    playground.add_argument("--host", default="127.0.0.1",
                            help="the address to listen on (default: 127.0.0.1, this machine "
                            "only)")

    audit = commands.add_parser(
        "audit", help="check the tamper-evident audit log",
        description="Check the tamper-evident audit log in the database named by "
        "DATABASE_URL. Reads only.",
    )
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_commands.add_parser(
        "verify", help="walk the hash chain and compare the rows the evidence pack reads with "
        "it: exit 0 intact, 1 tampered, 2 no database, 3 witness unreadable",
        description="Walk the audit log's hash chain and compare the rows the evidence pack "
        "reads with it. Reads only. Exit 0 intact, 1 tampered, 2 no database to read, "
        "3 witness unreadable.",
    )
    verify.add_argument(
        "--expect-head", metavar="HASH",
        help="a head hash named by an earlier evidence pack: it must still be in the chain",
    )
    verify.add_argument(
        "--witness", choices=["slack"],
        help="also read the checkpoints the bot posted to the audit channel and check each "
        "against the chain (needs SLACK_BOT_TOKEN)",
    )

    evidence = commands.add_parser(
        "evidence", help="export the evidence pack of a period for an auditor",
        description="Every change whose production deployment (or, if it never reached "
        "production, whose closure) falls in the period, with its approvals, checks, "
        "deployment, verification, rollback and every exception to the process. Dates are "
        "days in the policy's business-hours time zone, both included.",
    )
    evidence.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    evidence.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    evidence.add_argument("--format", choices=["md", "csv", "json"], default="md")
    evidence.add_argument("--out", metavar="FILE", help="write here instead of stdout")

    metrics = commands.add_parser(
        "metrics", help="DORA's five software delivery metrics of a period",
        description="Change lead time, deployment frequency, change fail rate, failed "
        "deployment recovery time and deployment rework rate (https://dora.dev/guides/"
        "dora-metrics/) of the production deployments in the period, each with its DORA "
        "performance cluster and its trend against the period before. Dates are days in "
        "the policy's business-hours time zone, both included.",
    )
    metrics.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    metrics.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    metrics.add_argument("--by", choices=["repo", "category", "team"],
                         help="one set of figures per repository, category or team (the "
                         "repository's owner)")
    metrics.add_argument("--format", choices=["md", "csv", "json"], default="md")
    return parser


def _port(arg: int | None) -> int:
    return arg if arg is not None else int(os.environ.get("PORT", "3000"))


def _config(mode: Mode):
    try:
        return load_config(mode)
    except ConfigError as exc:
        _explain(mode, exc)


def _explain(mode: str, exc: ConfigError):
    print(f"changebot {mode}: cannot start, {len(exc.problems)} setting(s) to fix:",
          file=sys.stderr)
    for problem in exc.problems:
        print(f"  - {problem}", file=sys.stderr)
    print("See README.md (Configuration) and changebot.example.toml.", file=sys.stderr)
    raise SystemExit(EXIT_CONFIG) from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "audit":
        return asyncio.run(_audit_verify(_config("cli"), args.expect_head, args.witness))
    if args.command == "evidence":
        asked = _config_and_period(args)
        if asked is None:
            return EXIT_CONFIG
        return asyncio.run(_evidence(*asked, args))
    if args.command == "metrics":
        return _metrics(args)

    # Loading the app makes objects that live as long as the process: the collector's
    # passes over them while it loads are wasted, a tenth of a second of start-up.
    gc.disable()
    try:
        from bot import app
    finally:
        gc.enable()
    try:
        _run(args, app)
    except ConfigError as exc:  # found only once Slack answered (e.g. a revoked token)
        _explain(args.command, exc)
    return 0


def _run(args: argparse.Namespace, app) -> None:
    if args.command == "serve":
        asyncio.run(app.serve(_config("serve"), _port(args.port), args.host))
    elif args.command == "socket":
        asyncio.run(app.socket(_config("socket")))
    elif args.command == "migrate":
        asyncio.run(_migrate(_config("migrate")))
    elif args.command == "playground":
        from bot.playground import server as playground

        asyncio.run(playground.run(_port(args.port), args.host))


def _sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None for another database, or one in memory)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    return Path(parsed.database).resolve()


def _where(url: str) -> str:
    file = _sqlite_file(url)
    return str(file) if file else make_url(url).render_as_string(hide_password=True)


def _refuse_unreadable(command: str) -> bool:
    """For the commands that only read: never create a database; say in one line what to
    do when there is none to read."""
    problem = _unreadable(_config("cli").settings.database_url)
    if problem:
        print(f"changebot {command}: {problem}", file=sys.stderr)
    return problem is not None


def _unreadable(url: str) -> str | None:
    """Why a read-only command cannot read the database at `url`, in one line; None when it
    can. Creates nothing: a missing SQLite file is reported before anything connects."""
    file = _sqlite_file(url)
    if file is not None and not file.is_file():
        if Path(PLAYGROUND_DATABASE).is_file():
            return (f"no database at {file}; to read the playground's, set "
                    f"DATABASE_URL=sqlite+aiosqlite:///{PLAYGROUND_DATABASE}")
        return (f"no database at {file}: set DATABASE_URL to the bot's database "
                "(or run `changebot migrate` to create an empty one)")
    from storage.db import schema_problem

    return asyncio.run(schema_problem(url))


async def _migrate(config) -> None:
    from bot.evidence.verification import audit_key
    from storage.db import Database
    from storage.migrate import current_revision, head_revision, migrate

    url = config.settings.database_url
    file = _sqlite_file(url)
    new_file = file is not None and not file.is_file()
    # The rows chained by a migration are sealed with the audit key like any other event.
    db = Database(url, audit_key=audit_key(config.settings))
    try:
        before = await current_revision(db)
        await migrate(db)
    finally:
        await db.dispose()
    where, head = _where(url), head_revision()
    if new_file:
        print(f"created a new database at {where}; its schema is up to date")
    elif before is None:
        print(f"created the Changebot schema in the database at {where}; it is up to date")
    elif before != head:
        print(f"upgraded the schema of the database at {where} from {before} to {head}; "
              "it is up to date")
    else:
        print(f"the schema of the database at {where} is already up to date")


async def _audit_verify(config, expect_head: str | None, witness: str | None) -> int:
    from bot.evidence import verification
    from bot.evidence.witness import WitnessUnreadable, audit_channel, read_checkpoints
    from storage.db import Database, schema_problem

    def fail(code: int, message: str) -> int:
        print(f"changebot audit verify: {message}", file=sys.stderr)
        return code

    settings = config.settings
    checkpoints = None
    if witness == "slack":
        from bot.slack.client import make_slack_client

        channel = audit_channel(config.policy)
        if not settings.slack_bot_token or not channel:
            return fail(EXIT_CONFIG, "--witness slack needs SLACK_BOT_TOKEN and the audit "
                        "channel (channels.audit or channels.changes)")
        client = make_slack_client(settings.slack_bot_token, settings.slack_api_url, None)
        try:
            checkpoints = await read_checkpoints(client, channel)
        except WitnessUnreadable as exc:
            return fail(verification.EXIT_WITNESS_UNREADABLE, str(exc))
    problem = await schema_problem(settings.database_url)
    if problem:
        return fail(verification.EXIT_NO_DATABASE, problem)
    db = Database(settings.database_url)
    try:
        report = await verification.verify(db, key=verification.audit_key(settings),
                                           expect=expect_head, checkpoints=checkpoints)
    finally:
        await db.dispose()
    print("\n".join(report.lines()), file=sys.stdout if report.intact else sys.stderr)
    return verification.EXIT_INTACT if report.intact else verification.EXIT_TAMPERED


async def _evidence(config, period, args) -> int:
    from bot.evidence import witness
    from bot.evidence.delivery import names
    from bot.evidence.export import export
    from bot.evidence.verification import audit_key
    from bot.runtime.clock import SystemClock
    from bot.slack.client import make_slack_client
    from storage.db import Database

    settings = config.settings
    db = Database(settings.database_url, audit_key=audit_key(settings))
    lookup = None
    if settings.slack_bot_token:  # people by name beside their Slack id
        slack = make_slack_client(settings.slack_bot_token, settings.slack_api_url, None)

        async def lookup(ids: set[str]) -> dict[str, str]:
            return await names(slack, ids)

    now = SystemClock().now()
    # A file that stays open for the whole export; written to a batch at a time.
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: ASYNC230, SIM115
    try:
        pack = await export(db, config.policy, period, args.format, out, now=now,
                            names=lookup)
        # The running bot posts the head this pack names to the audit channel.
        await witness.request_checkpoint(db, now, "evidence export")
    finally:
        if out is not sys.stdout:
            out.close()
        await db.dispose()
    print(pack.describe(), file=sys.stderr)
    return 0


def _config_and_period(args: argparse.Namespace) -> tuple[Config, Period] | None:
    """The configuration and the period `--start`/`--end` ask for (in the team's time zone);
    None once a bad period or an unreadable database was explained."""
    from bot.evidence.period import parse_period

    config = _config("cli")
    try:
        period = parse_period(args.start, args.end, config.policy.business_hours.zone)
    except ValueError as exc:
        print(f"changebot {args.command}: {exc}", file=sys.stderr)
        return None
    if _refuse_unreadable(args.command):
        return None
    return config, period


def _metrics(args: argparse.Namespace) -> int:
    from bot.insights.dora import Span

    asked = _config_and_period(args)
    if asked is None:
        return EXIT_CONFIG
    config, period = asked
    span = Span(period.start, period.end, period.label)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        text = asyncio.run(_metrics_report(config, span, args.by, args.format))
    except SQLAlchemyError as exc:
        print(f"changebot metrics: cannot read the database ({type(exc).__name__}); is "
              "DATABASE_URL right, and its schema up to date (`changebot migrate`)?",
              file=sys.stderr)
        return 1
    print(text, end="")
    return 0


async def _metrics_report(config, span, by: str | None, fmt: str) -> str:
    from bot.insights import report
    from bot.insights.dora import Span
    from bot.insights.records import load_history
    from storage.db import Database

    db = Database(config.settings.database_url)
    try:
        async with db.snapshot() as session:
            history = await load_history(session, Span(span.previous().start, span.end))
    finally:
        await db.dispose()
    return report.render(report.build(history, span, by), fmt)
