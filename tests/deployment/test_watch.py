"""The engineer stays on watch, over real HTTP: told until when they monitor the change at
its production deployment (and the card says when that is outside their working hours),
and chased when a rollback runs past the policy's `windows.rollback`."""

from datetime import timedelta

from sqlmodel import col, select

from storage.models import AuditEvent
from tests.flows import approved, card_text, click, deployed, dms, staged, step, thread

ROLLBACK = {"trigger": "errors", "method": "revert", "notes": None}


async def in_production(bot) -> int:
    change_id = await approved(bot)
    await staged(bot, change_id)
    await deployed(bot, change_id)
    await bot.sweep()
    return change_id


def watch_dms(bot, user: str = "alice") -> list[str]:
    return [m["text"] for m in dms(bot, user) if "You are monitoring" in m["text"]]


async def actions(bot, change_id: int) -> list[str]:
    async with bot.ctx.db.session() as session:
        events = (await session.exec(select(AuditEvent).where(
            AuditEvent.change_id == change_id).order_by(col(AuditEvent.id)))).all()
    return [e.action for e in events]


async def test_the_deployer_is_told_until_when_they_monitor_it(bot):
    change_id = await in_production(bot)
    [told] = watch_dms(bot)
    ends = int((bot.clock.now() + timedelta(minutes=30)).timestamp())
    assert told.startswith(f":eyes: You are monitoring *CHG-1* until <!date^{ends}^")
    assert "verify it or roll it back" in told and "|Open CHG-1>" in told
    assert "outside your working hours" not in told
    assert ":crescent_moon:" not in card_text(bot, change_id)
    assert "watch_started" in await actions(bot, change_id)


async def test_a_watch_outside_the_deployers_working_hours_is_on_the_card(bot):
    # 10:00 UTC is 19:00 in Tokyo: the team's 09:00-17:00 is over there.
    bot.slack.add_user("U0ALICE", "alice", real_name="Alice Engineer",
                       email="alice@example.com", tz="Asia/Tokyo")
    change_id = await in_production(bot)
    [told] = watch_dms(bot)
    assert "That is outside your working hours (Mon–Fri 09:00–17:00 Asia/Tokyo)" in told
    await bot.sweep()
    assert (":crescent_moon: <@U0ALICE> is monitoring it outside their working hours "
            "(Asia/Tokyo)") in card_text(bot, change_id)


async def test_a_rollback_past_its_window_reminds_the_engineer_then_the_tech_leads(bot):
    change_id = await in_production(bot)
    await step(bot, "alice", "change_rollback", change_id, ROLLBACK)
    bot.clock.advance(timedelta(minutes=29))
    await bot.sweep()
    assert not [m for m in dms(bot, "alice") if "is not finished" in m["text"]]
    bot.clock.advance(timedelta(minutes=1))
    await bot.sweep()
    [reminder] = [m["text"] for m in dms(bot, "alice") if "is not finished" in m["text"]]
    assert reminder.startswith(":rewind: The rollback of *CHG-1* started 30 min ago")
    assert dms(bot, "dave") == []

    bot.clock.advance(timedelta(minutes=30))
    await bot.sweep()
    [to_lead] = [m["text"] for m in dms(bot, "dave")]
    assert "by <@U0ALICE> started 1 h ago and is still not finished (the target is 30 min)" \
        in to_lead
    assert any("Tech leads told: <@U0DAVE>" in n for n in thread(bot, change_id))
    assert {"rollback_overdue", "rollback_escalated"} <= set(await actions(bot, change_id))


async def test_a_rollback_finished_in_time_is_not_chased(bot):
    change_id = await in_production(bot)
    await step(bot, "alice", "change_rollback", change_id, ROLLBACK)
    bot.clock.advance(timedelta(minutes=10))
    await click(bot, "alice", "change_rollback_finished", change_id)
    bot.clock.advance(timedelta(hours=2))
    await bot.sweep()
    assert not [m for m in dms(bot, "alice") if "is not finished" in m["text"]]
    assert dms(bot, "dave") == []


def test_a_watch_running_past_closing_time_is_outside_working_hours():
    from datetime import UTC, datetime

    from bot.deployment.watch import hours_in, outside_working_hours
    from bot.policy import BusinessHours

    hours = BusinessHours()
    at = datetime(2026, 11, 25, 16, 45, tzinfo=UTC)  # a Wednesday
    assert outside_working_hours(hours, at, at + timedelta(minutes=30))
    assert not outside_working_hours(hours, at, at + timedelta(minutes=15))
    assert hours_in(hours, "Not/AZone") == hours  # a zone Python does not know: the team's
    assert outside_working_hours(hours_in(hours, "Asia/Tokyo"), at - timedelta(hours=6),
                                 at - timedelta(hours=5))
