"""Sending at scale: several sends at once, paced per channel by Slack's limits, a 429
holding back its channel only, people ahead of scheduled reminders, and still each message
exactly once when a replica dies mid-burst."""

import asyncio
from datetime import timedelta

from bot.flows.kinds import KINDS
from bot.runtime.sweeper import LEASE
from bot.slack.pacing import LIMITS, Limit
from storage import reminder_store
from tests.flows import PROPOSAL, card, card_text, click, open_modal, propose
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


async def test_a_429_on_chat_update_holds_back_card_updates_only(bot):
    first, second = await propose(bot), await propose(bot)
    bot.slack.rate_limit("chat.update", retry_after=30)  # chat.update only
    await click(bot, "bob", "change_approve", first)  # its update: answered 429
    assert [c.outcome for c in bot.slack.calls_to("chat.update")] == ["ratelimited"]
    await click(bot, "carol", "change_approve", second)  # another update: held back here
    [dave] = people(bot, 1)
    await schedule_dm(bot.ctx, "for-dave", "for dave", recipient=dave)
    await bot.sweep()
    assert dm_texts(bot, [dave]) == ["for dave"]  # chat.postMessage is not held back
    assert len(bot.slack.calls_to("chat.update")) == 1  # nor retried before Retry-After
    assert "Approved" not in card_text(bot, first) + card_text(bot, second)
    bot.clock.advance(timedelta(seconds=31))
    await bot.sweep()
    outcomes = [c.outcome for c in bot.slack.calls_to("chat.update")]
    assert outcomes[0] == "ratelimited" and set(outcomes[1:]) == {"ok"}
    assert "Approved" in card_text(bot, first) and "Approved" in card_text(bot, second)


async def test_updates_are_paced_to_their_tier(bot):
    """chat.update has a limit of its own (Tier 3): past it, an update waits in the database
    for its turn and goes out as the clock moves (here one every 10 s)."""
    first, second = await propose(bot), await propose(bot)
    bot.ctx.sweeper.pacer.limits["chat.update"] = Limit(per_second=0.1, burst=1)
    await click(bot, "bob", "change_approve", first)
    await click(bot, "carol", "change_approve", second)  # due at once, but past the limit
    updates = [len(bot.slack.calls_to("chat.update"))]
    assert updates == [1] and "Approved" not in card_text(bot, second)
    for _ in range(20):
        bot.clock.advance(timedelta(seconds=10.1))
        await bot.sweep()
        updates.append(len(bot.slack.calls_to("chat.update")))
    assert all(b - a <= 1 for a, b in zip(updates, updates[1:], strict=False)), updates
    assert "Approved" in card_text(bot, first) and "Approved" in card_text(bot, second)


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


async def test_a_card_goes_out_while_every_slot_is_busy_with_a_burst(bot):
    """People first, proved by order: with each of the sweeper's slots stuck on a reminder
    of the burst (Slack holds those answers), a proposal's card is still posted, before
    any other reminder of the burst; then the burst goes on, each message once."""
    recipients = await backlog(bot, 40)
    view = await open_modal(bot, "alice")
    bot.slack.pause("chat.postMessage", where=lambda args: args.get("channel") in recipients)
    sweeping = asyncio.create_task(bot.ctx.sweeper.run_once())
    try:
        concurrency = bot.ctx.sweeper.concurrency
        await bot.slack.wait_for("chat.postMessage", count=concurrency)  # every slot stuck
        reply = await bot.submit("alice", view, PROPOSAL)  # a person proposes meanwhile
        assert reply.status == 200
        await bot.slack.wait_for("chat.postMessage",
                                 where=lambda c: c.args.get("text", "").startswith("CHG-1 "))
        posts = [c.args.get("channel") for c in bot.slack.calls_to("chat.postMessage")]
        assert posts[concurrency:] == ["C0CHANGES"]  # the card, and nothing more of the burst
    finally:
        bot.slack.resume("chat.postMessage")
    await sweeping
    await bot.settle()
    await bot.sweep()
    assert sorted(dm_texts(bot, recipients)) == sorted(f"window {n} ended" for n in range(40))
