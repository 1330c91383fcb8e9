"""What the benchmarks share: the real app served against the Slack stand-in, and percentiles.
Imported by the scripts in bench/ (run from the repository's root, which they put on the path).
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import text

from bot.playground.standin.api import FakeSlack
from bot.playground.standin.workspace import demo_policy, seed
from bot.runtime.clock import ManualClock
from storage.db import Database
from storage.migrate import migrate
from tests.conftest import WEDNESDAY_10AM
from tests.harness import BotHarness, start_bot


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


@asynccontextmanager
async def database(name: str, *, empty_first: bool = False) -> AsyncIterator[Database]:
    """DATABASE_URL, else the SQLite file `name`.db in a temporary folder; migrated, and
    disposed of on the way out. `empty_first`: a PostgreSQL schema is dropped beforehand."""
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{tmp}/{name}.db")
        db = Database(url)
        try:
            if empty_first and url.startswith("postgresql"):
                async with db.engine.begin() as conn:
                    await conn.execute(text("DROP SCHEMA public CASCADE"))
                    await conn.execute(text("CREATE SCHEMA public"))
            await migrate(db)
            yield db
        finally:
            await db.dispose()


@asynccontextmanager
async def serving(db: Database, clock: ManualClock | None = None,
                  users: Iterable[tuple[str, str]] = ()
                  ) -> AsyncIterator[tuple[BotHarness, FakeSlack]]:
    """The bot with the demo policy, on Wednesday 10:00, against the seeded stand-in (plus
    `users`, as (id, name)); both stopped on the way out."""
    slack = FakeSlack()
    seed(slack)
    for user_id, name in users:
        slack.add_user(user_id, name)
    await slack.start()
    bot = await start_bot(db=db, slack=slack, clock=clock or ManualClock(WEDNESDAY_10AM),
                          policy=demo_policy())
    # As `changebot serve` does once started (bot.app.serve): what exists now — here also
    # the seeded parts' leftovers — is kept out of the collector's full passes, which would
    # otherwise be charged to whichever request they interrupt.
    gc.freeze()
    try:
        yield bot, slack
    finally:
        gc.unfreeze()
        await bot.stop()
        await slack.stop()
