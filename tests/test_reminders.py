"""Durable reminders: sent once across restarts, two processes, Slack faults and crashes."""

from datetime import timedelta

from bot import notify


async def test_the_interval_job_sends_a_row_that_fell_due_without_a_kick(bot):
    """The one smoke test of the real APScheduler wiring (it waits a little real time)."""
    async with bot.ctx.db.session() as session:
        await notify.schedule(session, bot.ctx, key="smoke", kind="dm", recipient="U0ALICE",
                              payload={"text": "tick", "link_card": False},
                              due_at=bot.clock.now() + timedelta(minutes=1))
    bot.ctx.sweeper.start(interval=0.1)
    try:
        await bot.settle()  # the sweep at start finds nothing due yet
        assert bot.slack.dms("U0ALICE") == []
        bot.clock.advance(timedelta(minutes=1))  # nobody kicks: only the interval job can
        await bot.slack.wait_for("chat.postMessage", where=lambda c: c.ok, timeout=2)
    finally:
        bot.ctx.sweeper.stop()
    assert [m["text"] for m in bot.slack.dms("U0ALICE")] == ["tick"]
