"""Reviews that wait: one reminder DM after the policy's delay in business hours, then a note
in the card's thread. Time moves on the injected clock; nothing sleeps."""

from datetime import UTC, datetime, timedelta

from bot.playground.standin.workspace import SECURITY_GROUP, demo_policy
from bot.policy import Windows
from tests.flows import PROPOSAL, cancel, click, propose, thread
from tests.harness import start_bot

FRIDAY_3PM = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)


def reminders(bot, user: str) -> list[str]:
    return [m["text"] for m in bot.slack.dms(user) if "Reminder:" in m["text"]]


def waiting_notes(bot, change_id: int) -> list[str]:
    return [n for n in thread(bot, change_id) if "waiting" in n]


async def at(bot, moment: datetime) -> None:
    bot.clock.set(moment)
    await bot.sweep()


async def test_friday_afternoon_waits_four_business_hours_until_monday_11(bot):
    bot.clock.set(FRIDAY_3PM)
    change_id = await propose(bot, reviewers=["U0BOB"], security_checkboxes=["crypto"])
    await at(bot, MONDAY + timedelta(hours=10, minutes=59))
    assert reminders(bot, "U0BOB") == [] and reminders(bot, "U0ERIN") == []

    await at(bot, MONDAY + timedelta(hours=11))
    [to_bob] = reminders(bot, "U0BOB")
    assert "review *CHG-1: Add an index on orders.created_at*" in to_bob
    assert "Open CHG-1" in to_bob
    [to_erin] = reminders(bot, "U0ERIN")
    assert "still waiting for a security review" in to_erin and "Open CHG-1" in to_erin
    assert waiting_notes(bot, change_id) == []

    await at(bot, MONDAY + timedelta(hours=14, minutes=59))
    assert waiting_notes(bot, change_id) == []
    await at(bot, MONDAY + timedelta(hours=15))  # 4 more business hours: the thread hears
    peer, security = waiting_notes(bot, change_id)
    assert "Still waiting for <@U0BOB>" in peer
    assert f"<!subteam^{SECURITY_GROUP}> the security review is still waiting" in security

    await at(bot, MONDAY + timedelta(days=3))  # one reminder, one note: no more
    assert len(reminders(bot, "U0BOB")) == 1 and len(reminders(bot, "U0ERIN")) == 1
    assert len(waiting_notes(bot, change_id)) == 2


async def test_the_delays_come_from_the_policy(db, slack, clock):
    policy = demo_policy(windows=Windows(review_reminder=timedelta(hours=1),
                                        review_escalation=timedelta(hours=2)))
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    try:
        bot.clock.set(datetime(2026, 11, 25, 16, 30, tzinfo=UTC))  # Wednesday, 30 min left
        change_id = await propose(bot, reviewers=["U0CAROL"])
        await at(bot, datetime(2026, 11, 26, 9, 29, tzinfo=UTC))
        assert reminders(bot, "U0CAROL") == []
        await at(bot, datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
        assert len(reminders(bot, "U0CAROL")) == 1
        await at(bot, datetime(2026, 11, 26, 11, 30, tzinfo=UTC))
        assert len(waiting_notes(bot, change_id)) == 1
    finally:
        await bot.stop()


async def test_a_reviewer_who_answered_is_not_reminded(bot):
    change_id = await propose(bot, risk="high", reviewers=["U0BOB", "U0CAROL"])  # needs 2
    await click(bot, "bob", "change_approve", change_id)
    bot.clock.advance(timedelta(hours=8))  # Wednesday 18:00, past 14:00 and 18:00 business
    await bot.sweep()
    bot.clock.advance(timedelta(days=1))
    await bot.sweep()
    assert reminders(bot, "U0BOB") == []
    assert len(reminders(bot, "U0CAROL")) == 1
    [note] = waiting_notes(bot, change_id)
    assert "<@U0CAROL>" in note and "<@U0BOB>" not in note


async def test_decided_reviews_remind_nobody(bot):
    change_id = await propose(bot, reviewers=["U0BOB"], security_checkboxes=["crypto"])
    await click(bot, "bob", "change_approve", change_id)  # the one approval it needs
    await click(bot, "erin", "security_approve", change_id)
    bot.clock.advance(timedelta(days=2))
    await bot.sweep()
    assert reminders(bot, "U0BOB") == [] and reminders(bot, "U0ERIN") == []
    assert waiting_notes(bot, change_id) == []


async def test_a_rejected_or_cancelled_change_reminds_nobody(bot):
    rejected = await propose(bot, reviewers=["U0BOB", "U0CAROL"])
    await click(bot, "carol", "change_reject", rejected)
    await bot.submit("carol", bot.slack.opened_views()[-1], {"reason": "Not this week."})
    cancelled = await propose(bot, title="Second change", reviewers=["U0BOB"],
                              security_checkboxes=["auth"])
    await cancel(bot, "alice", cancelled)
    bot.clock.advance(timedelta(days=2))
    await bot.sweep()
    assert reminders(bot, "U0BOB") == [] and reminders(bot, "U0ERIN") == []
    assert waiting_notes(bot, rejected) == [] and waiting_notes(bot, cancelled) == []


async def test_a_revision_re_arms_the_reminders(bot):
    change_id = await propose(bot, reviewers=["U0BOB"])  # Wednesday 10:00: due 14:00
    bot.clock.advance(timedelta(hours=2))
    await click(bot, "alice", "change_edit", change_id)
    await bot.submit("alice", bot.slack.opened_views()[-1],
                     {**PROPOSAL, "testing": "Also ran it on staging."})
    await bot.settle()
    await at(bot, datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    assert reminders(bot, "U0BOB") == []  # the first revision's reminder is gone
    await at(bot, datetime(2026, 11, 25, 16, 0, tzinfo=UTC))  # 12:00 + 4 business hours
    [reminder] = reminders(bot, "U0BOB")
    assert "CHG-1" in reminder
