"""What the benchmarks share: the real app served against the Slack stand-in, and percentiles.
Imported by the scripts in bench/ (run from the repository's root, which they put on the path).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from bot.playground.standin.api import FakeSlack
from bot.playground.standin.workspace import demo_policy, seed
from bot.runtime.clock import ManualClock
from storage.db import Database
from tests.conftest import WEDNESDAY_10AM
from tests.harness import BotHarness, start_bot


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


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
    try:
        yield bot, slack
    finally:
        await bot.stop()
        await slack.stop()
