"""On time without polling: the sweeper knows when the next row is due (by the injected
clock) and plans its wake-up then; on PostgreSQL a row scheduled by another replica wakes it
through NOTIFY."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import close_context
from tests.runtime.test_reminders import another_process, schedule_dm, texts


async def test_after_a_sweep_it_knows_when_the_next_row_is_due(bot):
    assert await bot.sweep() == 0
    assert bot.ctx.sweeper.next_due is None and bot.ctx.sweeper.wake_in() is None
    later = bot.clock.now() + timedelta(minutes=10)
    await schedule_dm(bot.ctx, "later", "in ten minutes", due_at=later)
    await schedule_dm(bot.ctx, "much-later", "in an hour", due_at=later + timedelta(hours=1))
    assert await bot.sweep() == 0
    assert bot.ctx.sweeper.next_due == later
    assert bot.ctx.sweeper.wake_in() == 600
    bot.clock.advance(timedelta(minutes=9, seconds=59))
    assert bot.ctx.sweeper.wake_in() == 1  # a lone reminder is not a poll interval late
    bot.clock.advance(timedelta(seconds=1))
    assert bot.ctx.sweeper.wake_in() == 0
    assert await bot.sweep() == 1
    assert texts(bot) == ["in ten minutes"]
    assert bot.ctx.sweeper.next_due == later + timedelta(hours=1)


async def test_a_row_handed_back_for_later_counts_from_when_it_is_free(bot):
    bot.slack.rate_limit("chat.postMessage", retry_after=30)
    await schedule_dm(bot.ctx, "held", "hello")
    await bot.sweep()
    assert bot.ctx.sweeper.wake_in() == 30  # Retry-After, not the original due time


async def test_the_wake_up_is_planned_in_the_scheduler_when_before_the_safety_sweep(bot):
    sweeper = bot.ctx.sweeper
    sweeper.start(interval=3600)
    try:
        await bot.settle()
        assert sweeper._scheduler.get_job("next-due") is None  # nothing pending
        await schedule_dm(bot.ctx, "soon", "soon", due_at=bot.clock.now() + timedelta(minutes=5))
        sweeper.kick()
        await bot.settle()
        job = sweeper._scheduler.get_job("next-due")
        assert job is not None  # five minutes of the clock from now, in real time
        assert job.next_run_time > datetime.now(UTC) + timedelta(minutes=4)
    finally:
        sweeper.stop()


async def test_another_replicas_row_wakes_this_sweeper_through_notify(bot):
    if not bot.ctx.db.url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite runs one process")
    listening = another_process(bot)
    listening.sweeper.start(interval=3600)  # no poll would find it within the test
    try:
        for _ in range(200):  # until its LISTEN connection is up
            if listening.sweeper.listening:
                break
            await asyncio.sleep(0.01)
        assert listening.sweeper.listening
        await schedule_dm(bot.ctx, "from-elsewhere", "hello")  # no kick: another process
        await bot.slack.wait_for("chat.postMessage", where=lambda c: c.ok, timeout=2)
    finally:
        listening.sweeper.stop()
        await close_context(listening)
    assert texts(bot) == ["hello"]
