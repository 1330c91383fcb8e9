"""How late a lone reminder goes out: the bot on the real clock (the sweeper wakes at the
next due time), one direct message due a few seconds after it was scheduled, several times."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bench.serving import serving
from bot.runtime.clock import SystemClock
from bot.slack import outbox
from storage.db import Database


async def lone_reminders(db: Database, *, count: int = 5, ahead: float = 2.0) -> list[float]:
    """Seconds between each reminder's due time and Slack receiving it."""
    clock = SystemClock()
    late = []
    async with serving(db, clock) as (bot, slack):  # type: ignore[arg-type]
        bot.ctx.sweeper.start()
        for n in range(count):
            due = clock.now() + timedelta(seconds=ahead)
            async with db.session() as session:
                await outbox.schedule(session, bot.ctx, key=f"bench-lone:{n}", kind="dm",
                                      recipient="U0ALICE", due_at=due,
                                      payload={"text": f"Lone reminder {n}."})
            bot.ctx.sweeper.kick()  # as every use case does after its transaction
            [call] = await slack.wait_for(
                "chat.postMessage", timeout=ahead + 30,
                where=lambda c, n=n: c.ok and c.args.get("text") == f"Lone reminder {n}.")
            late.append((call.at - due).total_seconds())
            await asyncio.sleep(0.5)
        bot.ctx.sweeper.stop()
    return late
