"""`changebot playground`: the real bot and an embedded Slack stand-in, in a browser page.

Nothing to configure: the bot is built exactly as `changebot serve` builds it (same Bolt
app, handlers, lifecycle, sweeper), with a demo policy, a made-up token and a signing
secret made at start. One aiohttp server on one port holds everything:

    /                  the page and its /playground/* API   (bot/playground/standin/page.py)
    /slack/events      the bot, as in `serve`; also /healthz, /metrics, /github/webhook
    /standin/api/*     the stand-in Slack Web API, which the bot's slack_sdk client calls

The page acts as one of the demo people: the stand-in sends the bot signed requests at
/slack/events just as Slack would, and shows what the bot does through the Web API. The
bot's clock is a ManualClock that moves only when the page says so.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import shlex
import signal
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError

from bot.app import create_bolt_app, create_context, create_web_app, identify
from bot.context import Context
from bot.deployment.business_hours import next_business_time
from bot.playground.standin.api import FakeSlack
from bot.playground.standin.interactions import AppConnection
from bot.playground.standin.page import Page, clock_label
from bot.playground.standin.workspace import PEOPLE, demo_policy, seed
from bot.policy import Policy
from bot.runtime.clock import ManualClock
from bot.settings import Config, Settings
from storage import reminder_store
from storage.db import up_to_date

log = logging.getLogger(__name__)

DEFAULT_DATABASE_FILE = "playground.db"
DEFAULT_DATABASE = f"sqlite+aiosqlite:///{DEFAULT_DATABASE_FILE}"
BOT_TOKEN = "xoxb-playground"
STANDIN_PREFIX = "/standin"
MAX_STEPS = 500  # reminders sent one due time after another within one clock move
# Every connection to a WAL database holds a shared lock on this byte of its -shm file
# (SQLite's os_unix.c, UNIX_SHM_DMS) for as long as it is open.
_SHM_OPEN_BYTE = 128


@dataclass
class Playground:
    ctx: Context
    slack: FakeSlack
    app: AppConnection
    runner: web.AppRunner
    url: str  # the page, e.g. http://127.0.0.1:3000/

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.ctx.clock, ManualClock)
        return self.ctx.clock

    async def advance(self, delta: timedelta) -> int:
        return await advance_clock(self.ctx, self.clock, delta)

    async def stop(self) -> None:
        # The bot's in-flight work calls the stand-in on this very server: finish it while
        # the server still answers, then close (page streams first, then the bot).
        self.ctx.sweeper.stop()
        await self.ctx.background.drain()
        await self.runner.cleanup()
        await self.app.close()


def start_time(policy: Policy, now: datetime) -> datetime:
    """Where the clock starts: now if that is business time, else the next opening, so a
    production deployment can be tried at once (it is refused outside business hours)."""
    return next_business_time(policy.business_hours, now.replace(second=0, microsecond=0))


async def advance_clock(ctx: Context, clock: ManualClock, delta: timedelta) -> int:
    """Move the clock as time would pass: each reminder due on the way is sent at its own
    due time, in order, so what it schedules in turn lands where it would. Returns how many
    reminders were handled."""
    target = clock.now() + delta
    handled = await ctx.sweeper.run_once()  # also waits for a sweep already running
    for _ in range(MAX_STEPS):
        due = await next_due(ctx, after=clock.now())
        if due is None or due > target:
            break
        clock.set(due)
        handled += await ctx.sweeper.run_once()
    clock.set(target)
    return handled + await ctx.sweeper.run_once()


async def next_due(ctx: Context, *, after: datetime) -> datetime | None:
    """The earliest time after `after` when a pending reminder may be claimed (its due time,
    or its retry time)."""
    async with ctx.db.session() as session:
        rows = await reminder_store.pending(session)
    times = [max(r.due_at, r.claimed_until) if r.claimed_until else r.due_at for r in rows]
    return min((t for t in times if t > after), default=None)


def _local(host: str) -> str:
    """How this process reaches a server bound to `host`."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


async def start(*, host: str = "127.0.0.1", port: int = 0, database_url: str = DEFAULT_DATABASE,
                clock: ManualClock | None = None, policy: Policy | None = None,
                sock: socket.socket | None = None) -> Playground:
    """Serve the bot, the stand-in and the page on host:port (0: any free port), or on `sock`
    when the caller bound it already."""
    policy = policy or demo_policy()
    clock = clock or ManualClock(start_time(policy, datetime.now(UTC)))
    if sock is None:
        sock = socket.create_server((host, port))  # bound first: the URLs need the port
    root = f"http://{_local(host)}:{sock.getsockname()[1]}"

    slack = FakeSlack(bot_token=BOT_TOKEN, clock=clock.now)
    seed(slack)
    slack.root_url = root + STANDIN_PREFIX
    slack.base_url = slack.root_url + "/api/"
    secret = secrets.token_hex(16)
    settings = Settings(
        _env_file=None, slack_bot_token=BOT_TOKEN, slack_signing_secret=secret,
        slack_api_url=slack.base_url, database_url=database_url,
    )
    ctx = create_context(Config(settings, policy), clock=clock)
    try:
        await up_to_date(ctx.db)
        web_app = create_web_app(ctx, create_bolt_app(ctx))
        web_app.add_subapp(STANDIN_PREFIX, slack.app)
        app = AppConnection(slack, root + "/slack/events", secret)
        roles = {p.id: p.role for p in PEOPLE}
        Page(slack, app, advance=partial(advance_clock, ctx, clock), roles=roles).attach(web_app)
        runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=5)
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        await ctx.db.dispose()
        raise
    await identify(ctx)
    ctx.sweeper.start()
    return Playground(ctx, slack, app, runner, root + "/")


def open_elsewhere(database: Path) -> bool:
    """Whether another process has this (WAL) SQLite database open."""
    try:
        fd = os.open(database.with_name(database.name + "-shm"), os.O_RDWR)
    except FileNotFoundError:  # the last connection to close removes it
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_OPEN_BYTE)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_OPEN_BYTE)
        return False
    finally:
        os.close(fd)


def _fresh_default_database() -> None:
    """The stand-in's Slack lives in memory: a database from an earlier run would point at
    messages that are gone, so the default database starts empty at every run, unless
    another process (a playground still running) has it open."""
    if open_elsewhere(Path(DEFAULT_DATABASE_FILE)):
        raise SystemExit(f"changebot playground: {DEFAULT_DATABASE_FILE} in this folder is open "
                         "in another process (a playground still running?); stop it, or start "
                         "this one in another folder.")
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(DEFAULT_DATABASE_FILE + suffix).unlink(missing_ok=True)


def evidence_command(database_url: str, start: datetime, end: datetime) -> str:
    """The command line that exports this run's evidence pack (the playground's dates are
    days in UTC, as its demo policy's business hours are)."""
    if database_url == DEFAULT_DATABASE:
        database_url = f"sqlite+aiosqlite:///{Path(DEFAULT_DATABASE_FILE).resolve()}"
    return (f"DATABASE_URL={shlex.quote(database_url)} changebot evidence "
            f"--from {start.date().isoformat()} --to {end.date().isoformat()}")


async def run(port: int, host: str = "127.0.0.1") -> None:
    for chatty in ("alembic", "apscheduler"):  # their start-up INFO hides the address
        logging.getLogger(chatty).setLevel(logging.WARNING)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE
    try:  # the port first: a second playground must fail before it touches any database
        sock = socket.create_server((host, port))
    except OSError as exc:
        raise SystemExit(f"changebot playground: cannot listen on {host}:{port}: {exc.strerror}."
                         " Choose another port with --port.") from None
    try:
        if database_url == DEFAULT_DATABASE:
            _fresh_default_database()
        playground = await start(host=host, port=port, database_url=database_url, sock=sock)
    except ValidationError as exc:
        sock.close()
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise SystemExit(f"changebot playground: DATABASE_URL: {message}") from None
    except BaseException:
        sock.close()
        raise
    # Listen for Ctrl+C before saying where the page is: whoever reads that may stop us.
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    where = (f"{DEFAULT_DATABASE_FILE} (fresh for this run)"
             if database_url == DEFAULT_DATABASE else "DATABASE_URL")
    people = ", ".join(f"{p.name} ({p.role})" for p in PEOPLE)
    started = playground.clock.now()
    print(f"Changebot playground: open {playground.url} in your browser.\n"
          f"  Demo workspace: {people}; channels #changes and #engineering.\n"
          f"  Clock: {clock_label(started)}; it moves only when you advance it"
          " on the page.\n"
          f"  Database: {where}. No Slack workspace, no tokens: Slack is played by the page.\n"
          "  Export this run's evidence pack (from another terminal, or after stopping):\n"
          f"    {evidence_command(database_url, started, started + timedelta(days=7))}\n"
          "Press Ctrl+C to stop.", flush=True)
    try:
        await stop.wait()
    finally:
        await playground.stop()
        print("Stopped. This run's evidence pack, up to where its clock got:\n"
              f"  {evidence_command(database_url, started, playground.clock.now())}", flush=True)
