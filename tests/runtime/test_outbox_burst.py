"""Sending at scale: several sends at once, paced per channel by Slack's limits, a 429
holding back its channel only, people ahead of scheduled reminders, and still each message
exactly once when a replica dies mid-burst."""

import asyncio
from datetime import timedelta

from bot.flows.kinds import KINDS
from bot.runtime.sweeper import LEASE
from bot.slack.pacing import LIMITS
from storage import reminder_store
from tests.flows import card, propose
from tests.runtime.test_reminders import dm_texts, people, row, schedule_dm, texts

BURST = LIMITS["chat.postMessage"].burst


def posted_to(bot, channel_id: str) -> list[str]:
    return [c.args.get("text", "") for c in bot.slack.calls_to("chat.postMessage")
            if c.ok and c.args.get("channel") == channel_id]


async def backlog(bot, count: int) -> list[str]:
    """`count` scheduled reminders (a monitoring window's end, say), all due now."""
    recipients = people(bot, count)
    for n, user_id in enumerate(recipients):
        await schedule_dm(bot.ctx, f"window:{n}", f"window {n} ended", recipient=user_id,
                          due_at=bot.clock.now() + timedelta(minutes=30))
    bot.clock.advance(timedelta(minutes=30))
    return recipients


async def test_a_sweeper_has_several_sends_in_flight_at_once(bot):
    recipients = await backlog(bot, 20)
    assert bot.ctx.sweeper.concurrency >= 4
    bot.slack.delay("chat.postMessage", 2.0)
    try:
        sweeping = asyncio.create_task(bot.ctx.sweeper.run_once())
        # One at a time, the second post would come only after the first's 2 s answer.
        await bot.slack.wait_for("chat.postMessage", count=bot.ctx.sweeper.concurrency,
                                 timeout=1.5)
    finally:
        bot.slack.delay("chat.postMessage", 0)
    assert await sweeping == 20
    assert sorted(dm_texts(bot, recipients)) == sorted(f"window {n} ended" for n in range(20))


async def test_one_channel_gets_a_short_burst_then_one_a_second_others_are_not_held(bot):
    for n in range(BURST + 3):
        await schedule_dm(bot.ctx, f"alice:{n}", f"alice {n}")
    [bob] = people(bot, 1)
    await schedule_dm(bot.ctx, "bob", "for bob", recipient=bob)
    await bot.sweep()
    assert texts(bot) == [f"alice {n}" for n in range(BURST)]  # the burst, in order
    assert dm_texts(bot, [bob]) == ["for bob"]  # another channel is not queued behind
    waiting = await row(bot.ctx, f"alice:{BURST}")
    assert waiting.sent_at is None and waiting.attempts == 0  # paced is not a failure
    bot.clock.advance(timedelta(seconds=1.1))
    await bot.sweep()
    assert len(texts(bot)) == BURST + 1  # one a second after the burst
    bot.clock.advance(timedelta(seconds=5))
    await bot.sweep()
    assert texts(bot) == [f"alice {n}" for n in range(BURST + 3)]


async def test_a_429_holds_back_that_channel_only(bot):
    bot.slack.rate_limit("chat.postMessage", retry_after=30)
    await schedule_dm(bot.ctx, "alice", "for alice")
    await bot.sweep()  # answered 429: alice's channel waits 30 s
    [bob] = people(bot, 1)
    await schedule_dm(bot.ctx, "bob", "for bob", recipient=bob)
    await schedule_dm(bot.ctx, "alice-2", "again for alice")
    bot.clock.advance(timedelta(seconds=10))
    await bot.sweep()
    assert dm_texts(bot, [bob]) == ["for bob"] and texts(bot) == []
    assert [c.outcome for c in bot.slack.calls_to("chat.postMessage")] == ["ratelimited", "ok"]
    bot.clock.advance(timedelta(seconds=21))
    await bot.sweep()
    assert texts(bot) == ["for alice", "again for alice"]


async def test_a_card_goes_out_ahead_of_a_backlog_of_200_reminders(bot):
    recipients = await backlog(bot, 200)
    bot.slack.delay("chat.postMessage", 0.05)
    try:
        sweeping = asyncio.create_task(bot.ctx.sweeper.run_once())
        await bot.slack.wait_for("chat.postMessage", count=20)  # the burst is under way
        change_id = await propose(bot)  # a person proposes a change meanwhile
        await sweeping
        await bot.settle()
    finally:
        bot.slack.delay("chat.postMessage", 0)
    posts = [c.args.get("text", "") for c in bot.slack.calls_to("chat.postMessage")]
    at = next(n for n, text in enumerate(posts) if text.startswith(f"CHG-{change_id} "))
    # Claimed in the batch after it was committed, not behind the 180 reminders left.
    assert at < 100, at
    assert card(bot, change_id)["text"].startswith(f"CHG-{change_id} ")
    assert len(dm_texts(bot, recipients)) == 200  # and the backlog all went out, once


async def test_a_replica_killed_mid_burst_leaves_each_message_sent_once(bot):
    recipients = await backlog(bot, 40)
    async with bot.ctx.db.session() as session:  # a replica claims a batch...
        claimed = await reminder_store.claim_due(session, worker="killed",
                                                 now=bot.clock.now(), lease=LEASE, limit=16)
    await asyncio.gather(*(KINDS["dm"].handler(bot.ctx, r) for r in claimed[:10]))  # ...sends 10...
    # ...and is SIGKILLed before marking them: the others go out now, its own after the lease.
    assert await bot.sweep() == 24
    bot.clock.advance(LEASE + timedelta(seconds=1))
    assert await bot.sweep() == 16
    texts_sent = dm_texts(bot, recipients)
    assert sorted(texts_sent) == sorted(f"window {n} ended" for n in range(40))  # none twice
    assert await bot.sweep() == 0
