"""Short claims, renewed while the work runs, given back on a clean stop: a crashed
replica's messages go out within 30 s, a slow live one keeps its own, none is doubled."""

import asyncio
from datetime import timedelta

from bot.app import close_context
from bot.runtime.sweeper import LEASE
from storage import reminder_store
from tests.runtime.test_reminders import another_process, row, schedule_dm, texts

SWEEP_INTERVAL = timedelta(seconds=5)  # `Sweeper.start`'s default


async def test_a_crashed_replicas_claims_go_out_within_30_seconds(bot):
    await schedule_dm(bot.ctx, "orphan", "hello")
    async with bot.ctx.db.session() as session:  # a replica claims it, then is SIGKILLed
        await reminder_store.claim_due(session, worker="killed", now=bot.clock.now(),
                                       lease=LEASE)
    assert bot.ctx.sweeper.lease == LEASE
    bot.clock.advance(LEASE - timedelta(seconds=1))
    assert await bot.sweep() == 0  # the claim still holds
    bot.clock.advance(timedelta(seconds=2))
    assert await bot.sweep() == 1
    assert timedelta(seconds=30) >= LEASE + SWEEP_INTERVAL  # worst case: just missed a sweep
    assert texts(bot) == ["hello"]


async def test_a_slow_live_replica_keeps_its_claims_through_the_heartbeat(bot):
    await schedule_dm(bot.ctx, "slow", "hello")
    other = another_process(bot, worker="slow-replica")
    other.sweeper.heartbeat_every = 0.02
    bot.slack.delay("chat.postMessage", 1.0)  # Slack takes long to answer the post
    try:
        sending = asyncio.create_task(other.sweeper.run_once())
        await bot.slack.wait_for("chat.postMessage")
        for _ in range(3):  # three leases pass while the post is still in flight...
            bot.clock.advance(LEASE)
            until = bot.clock.now() + LEASE
            for _ in range(100):
                if (await row(bot.ctx, "slow")).claimed_until >= until:
                    break
                await asyncio.sleep(0.01)
            assert (await row(bot.ctx, "slow")).claimed_until >= until  # ...renewed each time
            assert await bot.ctx.sweeper.run_once() == 0  # so nobody takes it over
        assert await sending == 1
    finally:
        bot.slack.delay("chat.postMessage", 0)
        await close_context(other)
    assert texts(bot) == ["hello"]
    assert (await row(bot.ctx, "slow")).sent_at is not None


async def test_a_stop_whose_grace_ends_gives_back_the_claims_it_did_not_start(bot):
    for n in range(3):
        await schedule_dm(bot.ctx, f"dm-{n}", f"message {n}")
    other = another_process(bot, worker="stopping-replica")
    bot.slack.delay("chat.postMessage", 0.5)
    try:
        other.sweeper.kick()  # sweeping in the background, as after an event
        await bot.slack.wait_for("chat.postMessage")  # the first post is in flight...
        other.sweeper.stop()
        await other.background.drain(grace=0.1)  # ...when shutdown's grace ends
    finally:
        bot.slack.delay("chat.postMessage", 0)
        await close_context(other)
    in_flight = await row(bot.ctx, "dm-0")  # Slack may have it: it keeps its claim
    assert in_flight.claimed_by == "stopping-replica" and in_flight.attempts == 1
    for key in ("dm-1", "dm-2"):
        released = await row(bot.ctx, key)
        assert released.claimed_until is None and released.attempts == 0
    assert await bot.sweep() == 2  # at once, not a lease later
    bot.clock.advance(LEASE + timedelta(seconds=1))
    assert await bot.sweep() == 1  # the one in flight: found in Slack, not posted again
    assert sorted(texts(bot)) == ["message 0", "message 1", "message 2"]
