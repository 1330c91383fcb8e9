"""Durable reminders: sent once across restarts, two processes, Slack faults and crashes.

The reminders are the real ones (the monitoring window's end) or plain DM notifications;
a "process" is a context of its own (engine, Slack client, Sweeper) on the same database.
"""

import asyncio
from datetime import timedelta

from sqlmodel import select

from bot.app import close_context, create_context
from bot.context import Context
from bot.flows.kinds import KINDS
from bot.overview.desk_refresh import COALESCE as DESK_SLOT
from bot.runtime.sweeper import Kind, NoPayload
from bot.settings import Config
from bot.slack import outbox as notify
from storage import reminder_store
from storage.db import Database
from storage.models import Change, Reminder
from tests.flows import approved, deployed, dms, staged, step
from tests.harness import start_bot


def another_process(bot, *, worker: str | None = None) -> Context:
    """A second bot process: same configuration, database and Slack; its own everything."""
    ctx = create_context(Config(bot.ctx.settings, bot.ctx.policy), clock=bot.clock,
                         db=Database(bot.ctx.db.url))
    if worker:
        ctx.sweeper.worker = worker
    return ctx


async def schedule_dm(ctx: Context, key: str, text: str, recipient: str = "U0ALICE",
                      **fields) -> None:
    async with ctx.db.session() as session:
        await notify.schedule(session, ctx, key=key, kind="dm", recipient=recipient,
                              payload={"text": text, "link_card": False}, **fields)


async def row(ctx: Context, key: str) -> Reminder:
    async with ctx.db.session() as session:
        return (await session.exec(select(Reminder).where(Reminder.key == key))).one()


def texts(bot, user: str = "alice") -> list[str]:
    return [m["text"] for m in dms(bot, user)]


def window_dms(bot) -> list[str]:
    return [t for t in texts(bot) if "monitoring window" in t]


async def in_production(bot) -> int:
    change_id = await approved(bot)
    await staged(bot, change_id)
    await deployed(bot, change_id)
    return change_id


async def test_the_interval_job_sends_a_row_that_fell_due_without_a_kick(bot):
    """The one smoke test of the real APScheduler wiring (it waits a little real time)."""
    await schedule_dm(bot.ctx, "smoke", "tick", due_at=bot.clock.now() + timedelta(minutes=1))
    bot.ctx.sweeper.start(interval=0.1)
    try:
        await bot.settle()  # the sweep at start finds nothing due yet
        assert texts(bot) == []
        bot.clock.advance(timedelta(minutes=1))  # nobody kicks: only the interval job can
        await bot.slack.wait_for("chat.postMessage", where=lambda c: c.ok, timeout=2)
    finally:
        bot.ctx.sweeper.stop()
    assert texts(bot) == ["tick"]


async def test_a_reminder_due_while_the_bot_was_down_is_sent_once_at_start(
    db, slack, clock, policy,
):
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    await in_production(bot)
    await bot.stop()  # down before the monitoring window ends...
    clock.advance(timedelta(minutes=45))  # ...and back after it ended

    restarted = another_process(bot)
    restarted.sweeper.start(interval=3600)  # only the sweep at start can send it
    try:
        await slack.wait_for("chat.postMessage", timeout=5,
                             where=lambda c: c.ok and "monitoring window" in c.args["text"])
        await restarted.background.drain()
        assert await restarted.sweeper.run_once() == 0
    finally:
        await close_context(restarted)
    assert window_dms(bot) == ["Your monitoring window for CHG-1 has ended."]
    assert (await row(restarted, "monitoring_ended:1")).sent_at == clock.now()


def people(bot, count: int) -> list[str]:
    """`count` extra members of the fake workspace, each their own DM channel."""
    ids = [f"U0P{n:05d}" for n in range(count)]
    for n, user_id in enumerate(ids):
        bot.slack.add_user(user_id, f"person{n}")
    return ids


def dm_texts(bot, user_ids: list[str]) -> list[str]:
    return [m["text"] for user_id in user_ids for m in bot.slack.dms(user_id)]


async def test_two_sweepers_on_one_database_send_each_reminder_exactly_once(bot):
    """Each sweeper sends several at once (its concurrency), the claims overlap."""
    recipients = people(bot, 40)
    expected = [f"reminder {n}" for n in range(40)]
    for n, text in enumerate(expected):
        await schedule_dm(bot.ctx, f"many:{n}", text, recipient=recipients[n])
    first, second = another_process(bot), another_process(bot)
    assert first.sweeper.concurrency > 1
    bot.slack.delay("chat.postMessage", 0.02)  # sends take time: the claims overlap
    try:
        handled = await asyncio.gather(first.sweeper.run_once(), second.sweeper.run_once())
    finally:
        bot.slack.delay("chat.postMessage", 0)
        await close_context(first)
        await close_context(second)
    assert sorted(dm_texts(bot, recipients)) == sorted(expected)  # each once, none lost
    assert sum(handled) == 40 and all(handled), handled  # both processes took a share
    async with bot.ctx.db.session() as session:
        rows = (await session.exec(select(Reminder))).all()
    assert all(r.sent_at is not None and r.attempts == 1 for r in rows)
    assert {r.claimed_by for r in rows} == {first.sweeper.worker, second.sweeper.worker}


async def test_slack_answering_429_then_ok_sends_one_message(bot):
    bot.slack.rate_limit("chat.postMessage", retry_after=3)
    await schedule_dm(bot.ctx, "limited", "hello")
    assert await bot.sweep() == 1  # handed back, not slept on
    assert texts(bot) == []
    bot.clock.advance(timedelta(seconds=2))
    assert await bot.sweep() == 0  # Retry-After is not over
    bot.clock.advance(timedelta(seconds=2))
    assert await bot.sweep() == 1
    assert texts(bot) == ["hello"]
    assert [c.outcome for c in bot.slack.calls_to("chat.postMessage")] == ["ratelimited", "ok"]
    reminder = await row(bot.ctx, "limited")
    assert reminder.sent_at is not None and reminder.attempts == 1


async def test_a_slack_error_keeps_the_row_and_retries_it_with_backoff(bot):
    bot.slack.error("chat.postMessage", "internal_error")
    await schedule_dm(bot.ctx, "flaky", "hello")
    await bot.sweep()
    reminder = await row(bot.ctx, "flaky")
    assert texts(bot) == [] and reminder.sent_at is None
    assert "internal_error" in reminder.last_error
    bot.clock.advance(timedelta(seconds=14))
    assert await bot.sweep() == 0  # backing off (15 s after a first failure)
    bot.clock.advance(timedelta(seconds=2))
    assert await bot.sweep() == 1
    assert texts(bot) == ["hello"]
    assert (await row(bot.ctx, "flaky")).attempts == 2


async def test_a_crash_after_the_claim_is_recovered_when_the_claim_expires(bot):
    await schedule_dm(bot.ctx, "orphan", "hello")
    async with bot.ctx.db.session() as session:  # a process claims it, then dies
        [claimed] = await reminder_store.claim_due(session, worker="crashed", now=bot.clock.now(),
                                                   lease=bot.ctx.sweeper.lease)
    assert await bot.sweep() == 0  # still claimed by the dead process
    bot.clock.advance(bot.ctx.sweeper.lease + timedelta(seconds=1))
    assert await bot.sweep() == 1
    assert texts(bot) == ["hello"]
    assert await bot.sweep() == 0
    reminder = await row(bot.ctx, "orphan")
    assert reminder.attempts == 2 and reminder.claimed_by == bot.ctx.sweeper.worker
    assert reminder.sent_at is not None


async def test_a_crash_after_slack_accepted_the_message_does_not_repeat_it(bot):
    await schedule_dm(bot.ctx, "sent-then-crashed", "hello")
    async with bot.ctx.db.session() as session:
        [claimed] = await reminder_store.claim_due(session, worker="crashed", now=bot.clock.now(),
                                                   lease=bot.ctx.sweeper.lease)
    await KINDS["dm"].handler(bot.ctx, claimed)  # Slack said ok, then the process died unmarked
    assert texts(bot) == ["hello"]
    bot.clock.advance(bot.ctx.sweeper.lease + timedelta(seconds=1))
    assert await bot.sweep() == 1
    assert texts(bot) == ["hello"]  # found by its metadata key, not posted again
    assert (await row(bot.ctx, "sent-then-crashed")).sent_at is not None


async def test_the_check_before_sending_drops_a_reminder_whose_change_was_rolled_back(bot):
    """Another process has claimed the window's end when the rollback commits."""
    change_id = await in_production(bot)
    bot.clock.advance(DESK_SLOT)  # the desks of the people concerned are republished
    await bot.sweep()
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold(_ctx, _reminder) -> None:  # keeps the other process busy, claim in hand
        holding.set()
        await release.wait()

    async with bot.ctx.db.session() as session:
        change = await session.get(Change, change_id)
        await notify.schedule(session, bot.ctx, key="hold", kind="test_hold",
                              change_id=change_id,  # one change's rows go one by one
                              due_at=change.monitoring_ends_at - timedelta(seconds=1))
    bot.clock.advance(timedelta(minutes=30))
    other = another_process(bot)
    other.sweeper.kinds["test_hold"] = Kind(hold, NoPayload)
    try:
        sweeping = asyncio.create_task(other.sweeper.run_once())
        await holding.wait()  # it claimed the hold and the window's end together
        assert (await row(bot.ctx, "monitoring_ended:1")).claimed_by == other.sweeper.worker
        await step(bot, "alice", "change_rollback", change_id,
                   {"trigger": "errors", "method": "revert", "notes": None})
        release.set()
        assert await sweeping == 2
    finally:
        release.set()
        await close_context(other)
    assert window_dms(bot) == []
    reminder = await row(bot.ctx, "monitoring_ended:1")
    assert reminder.sent_at is None and reminder.cancelled_at is not None
