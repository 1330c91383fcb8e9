"""`changebot` (also `python -m bot`): serve, socket, migrate, playground, and more."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot.settings import ConfigError, Mode, load_config

EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="changebot",
        description="Run your team's production change-management process in Slack.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve Slack over HTTP (POST /slack/events)")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.add_argument("--host", default="0.0.0.0")

    commands.add_parser("socket", help="connect to Slack over Socket Mode (no public URL)")
    commands.add_parser("migrate", help="bring the database schema up to date")

    playground = commands.add_parser(
        "playground", help="try Changebot in a browser with an embedded Slack stand-in"
    )
    playground.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    playground.add_argument("--host", default="127.0.0.1")
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
    from bot import app

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
        from bot import playground

        asyncio.run(playground.run(_port(args.port), args.host))


async def _migrate(config) -> None:
    from storage.db import Database
    from storage.migrate import migrate

    db = Database(config.settings.database_url)
    try:
        await migrate(db)
    finally:
        await db.dispose()
    print("database schema is up to date")
