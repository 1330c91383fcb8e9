"""Snooze 30 min / 1 h under the review reminder, the security team's reminder and the
window-end DM: on record, never past the escalation, which says it was snoozed. Time moves on
the injected clock."""

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.runtime.snooze import snooze_until
from storage.models import AuditEvent
from tests.flows import (
    approved,
    buttons,
    click,
    click_dm,
    deployed,
    dms,
    last_answer,
    propose,
    staged,
    thread,
)

WEDNESDAY = datetime(2026, 11, 25, tzinfo=UTC)


async def at(bot, hour: int, minute: int = 0) -> None:
    bot.clock.set(WEDNESDAY + timedelta(hours=hour, minutes=minute))
    await bot.sweep()


def reminders(bot, user: str) -> list[dict]:
    return [m for m in dms(bot, user) if "Reminder:" in m["text"]]


def window_dms(bot) -> list[dict]:
    return [m for m in dms(bot, "alice") if "monitoring window" in m["text"]]


async def snoozes(bot) -> list[dict]:
    async with bot.ctx.db.session() as session:
        found = await session.exec(select(AuditEvent).where(
            AuditEvent.action == "reminder_snoozed").order_by(col(AuditEvent.id)))
        return [{"actor": e.actor, **e.detail} for e in found.all()]


def test_a_snooze_never_goes_past_the_escalation():
    now = WEDNESDAY
    assert snooze_until(now, 30, now + timedelta(hours=1)).until == now + timedelta(minutes=30)
    capped = snooze_until(now, 60, now + timedelta(minutes=40))
    assert capped.until == now + timedelta(minutes=40) and capped.capped
    assert snooze_until(now, 30, now).until is None
    assert snooze_until(now, 30, None).until is None


async def test_a_reviewer_snoozes_the_reminder_and_the_thread_note_says_so(bot):
    change_id = await propose(bot, reviewers=["U0BOB"])  # Wednesday 10:00: reminded at 14:00
    await at(bot, 14)
    [first] = reminders(bot, "bob")
    await click_dm(bot, "bob", "reminder_snooze_review_60", first)
    assert "Snoozed: I'll remind you of CHG-1 again" in last_answer(bot, "bob")
    await at(bot, 14, 59)
    assert len(reminders(bot, "bob")) == 1
    await at(bot, 15)
    assert len(reminders(bot, "bob")) == 2

    await at(bot, 33, 45)  # Thursday: the thread hears at 10:00, 4 business hours after 14:00
    await click_dm(bot, "carol", "reminder_snooze_review_30", first)
    assert "no longer waits for your review" in last_answer(bot, "carol")
    await click_dm(bot, "bob", "reminder_snooze_review_60", reminders(bot, "bob")[-1])
    assert "not later" in last_answer(bot, "bob")
    assert [(s["actor"], s["minutes"]) for s in await snoozes(bot)] == [
        ("U0BOB", 60), ("U0BOB", 60)]
    assert (await snoozes(bot))[-1]["until"] == (WEDNESDAY + timedelta(hours=34)).isoformat()
    assert not [n for n in thread(bot, change_id) if "Still waiting" in n]

    await at(bot, 34)
    assert len(reminders(bot, "bob")) == 3
    [note] = [n for n in thread(bot, change_id) if "Still waiting" in n]
    assert "The reminder was snoozed by <@U0BOB>" in note and note.count("<@U0BOB> until") == 2
    await click_dm(bot, "bob", "reminder_snooze_review_30", reminders(bot, "bob")[-1])
    assert "cannot be snoozed any more" in last_answer(bot, "bob")
    assert len(await snoozes(bot)) == 2


async def test_the_window_end_dm_snoozes_up_to_the_overdue_chase(bot):
    change_id = await approved(bot)
    await staged(bot, change_id)
    await deployed(bot, change_id)
    window = bot.ctx.policy.windows
    ends = bot.clock.now() + window.monitoring
    bot.clock.set(ends)
    await bot.sweep()
    [ended] = window_dms(bot)
    await click_dm(bot, "alice", "reminder_snooze_window_60", ended)
    assert "not later" in last_answer(bot, "alice")  # the grace is shorter than an hour
    [snoozed] = await snoozes(bot)
    assert snoozed["until"] == (ends + window.verification_grace).isoformat()

    bot.clock.set(ends + window.verification_grace)
    await bot.sweep()
    texts = [m["text"] for m in window_dms(bot)]
    assert texts[0] == texts[1] == f"Your monitoring window for CHG-{change_id} has ended."
    assert "it is not verified yet" in texts[2] and len(texts) == 3
    [note] = [n for n in thread(bot, change_id) if "is not verified yet" in n]
    assert "The reminder was snoozed by <@U0ALICE>" in note


def security_reminders(bot) -> list[dict]:
    return [m for m in dms(bot, "erin") if "waiting for a security review" in m["text"]]


async def test_a_security_team_member_snoozes_the_reminder_and_the_thread_note_says_so(bot):
    change_id = await propose(bot, reviewers=["U0BOB"], security_checkboxes=["crypto"])
    await at(bot, 14)  # the team was reached at 10:00: reminded at 14:00
    [first] = security_reminders(bot)
    assert {"reminder_snooze_security_30", "reminder_snooze_security_60"} <= set(buttons(first))
    assert "Open CHG-1" in str(first["blocks"])
    await click_dm(bot, "bob", "reminder_snooze_security_30", first)  # not in the team
    assert "no longer waits for your security review" in last_answer(bot, "bob")
    await click_dm(bot, "erin", "reminder_snooze_security_60", first)
    assert "Snoozed: I'll remind you of CHG-1 again" in last_answer(bot, "erin")
    await at(bot, 14, 59)
    assert len(security_reminders(bot)) == 1
    await at(bot, 15)
    [_, again] = security_reminders(bot)
    assert "reminder_snooze_security_30" in buttons(again)

    await at(bot, 33, 45)  # Thursday: the thread hears at 10:00
    await click_dm(bot, "erin", "reminder_snooze_security_60", again)
    assert "not later" in last_answer(bot, "erin")
    assert [(s["actor"], s["reminder"], s["minutes"]) for s in await snoozes(bot)] == [
        ("U0ERIN", "security_reminder", 60), ("U0ERIN", "security_reminder", 60)]
    assert (await snoozes(bot))[-1]["until"] == (WEDNESDAY + timedelta(hours=34)).isoformat()
    assert not [n for n in thread(bot, change_id) if "security review is still waiting" in n]

    await at(bot, 34)
    assert len(security_reminders(bot)) == 3
    [note] = [n for n in thread(bot, change_id) if "security review is still waiting" in n]
    assert "The reminder was snoozed by <@U0ERIN>" in note and note.count("<@U0ERIN> until") == 2
    await click_dm(bot, "erin", "reminder_snooze_security_30", security_reminders(bot)[-1])
    assert "cannot be snoozed any more" in last_answer(bot, "erin")
    assert len(await snoozes(bot)) == 2


async def test_a_decided_security_review_is_not_reminded_after_a_snooze(bot):
    change_id = await propose(bot, reviewers=["U0BOB"], security_checkboxes=["crypto"])
    await at(bot, 14)
    [first] = security_reminders(bot)
    await click_dm(bot, "erin", "reminder_snooze_security_30", first)
    await click(bot, "erin", "security_approve", change_id)
    await at(bot, 15)
    assert len(security_reminders(bot)) == 1
    assert not [n for n in thread(bot, change_id) if "security review is still waiting" in n]
    await click_dm(bot, "erin", "reminder_snooze_security_30", first)
    assert "no longer waits for your security review" in last_answer(bot, "erin")


async def test_a_security_snooze_is_refused_when_slack_cannot_say_who_is_in_the_team(bot):
    await propose(bot, reviewers=["U0BOB"], security_checkboxes=["crypto"])
    await at(bot, 14)
    [first] = security_reminders(bot)
    bot.slack.error("usergroups.users.list", "internal_error", times=None)
    await at(bot, 14, 10)  # past the directory's cache
    await click_dm(bot, "erin", "reminder_snooze_security_30", first)
    assert "couldn't check with Slack whether you are in the security team" in last_answer(
        bot, "erin")
    assert await snoozes(bot) == []
