"""`/change calendar` over real HTTP: a busy week (over 50 changes) in valid Block Kit, a
page at a time, days in the viewer's Slack time zone, with freezes and conflicts."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.playground.standin.blockkit import block_errors
from bot.playground.standin.workspace import CHANGES, demo_policy
from bot.schedule.calendar import Invalid, parse_week
from bot.schedule.policy import Freezes, RecurringFreeze
from storage.models import Change

FRIDAYS = RecurringFreeze(name="Friday afternoons", days="fri", start="15:00", end="24:00")
MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def policy():
    return demo_policy(freezes=Freezes(recurring=[FRIDAYS]))


def test_the_week_asked_for_runs_monday_to_monday_in_the_viewers_zone():
    now = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # already Thursday in Paris
    assert parse_week("", now, PARIS).monday == date(2026, 11, 23)
    assert parse_week("next   WEEK", now, PARIS).monday == date(2026, 11, 30)
    assert parse_week("2027-01-01", now, PARIS).monday == date(2026, 12, 28)
    assert parse_week("2026-12-02", now, PARIS).start == datetime(2026, 11, 30, tzinfo=PARIS)
    for bad in ("someday", "2026-02-30", "next month"):
        with pytest.raises(Invalid, match="as a week"):
            parse_week(bad, now, PARIS)


async def busy_week(bot, count: int = 55) -> None:
    """`count` changes planned over the week (every 3 hours, on their own repositories), two
    of them deployed, and two planned 20 minutes apart on the same repository."""
    now = bot.clock.now()
    async with bot.ctx.db.session() as session:
        for n in range(count):
            planned = MONDAY + timedelta(hours=3 * n, minutes=10)
            session.add(Change(
                title=f"Change number {n + 1}", description="d", category="normal",
                risk="low", rollback_plan="r", author_id="U0ALICE", status="in_review",
                created_at=now, updated_at=now, planned_at=planned,
                pr_url=f"https://github.com/acme/service-{n}/pull/1",
                deployed_at=planned if n in (3, 4) else None,
            ))
        session.add(Change(
            title="Same repository, too close", description="d", category="normal",
            risk="low", rollback_plan="r", author_id="U0CAROL", status="approved",
            created_at=now, updated_at=now, planned_at=MONDAY + timedelta(minutes=30),
            pr_url="https://github.com/acme/service-0/pull/2"))


async def calendar(bot, user: str, text: str) -> dict:
    reply = await bot.command(user, f"calendar {text}".strip())
    assert reply.status == 200, reply.text
    await bot.settle()
    return bot.slack.responses(user=f"U0{user.upper()}")[-1]


def texts(message: dict) -> str:
    return str(message["blocks"])


async def test_a_busy_week_is_paged_in_valid_block_kit(bot):
    bot.slack.workspace.users["U0ALICE"].tz = "Europe/Paris"
    await busy_week(bot)
    first = await calendar(bot, "alice", "2026-12-02")
    assert block_errors(first["blocks"]) == [] and len(first["blocks"]) <= 50
    assert first["blocks"][0]["text"]["text"] == "Change calendar: Mon 30 Nov – Sun 06 Dec 2026"
    assert ("56 changes planned or deployed · business hours Mon–Fri 09:00–17:00 UTC · days "
            "in Europe/Paris, times in yours · page 1 of 3") in texts(first)
    # Freezes of the week, and the entries they hold.
    assert ":snowflake: <!date^1796396400^" in texts(first)  # Fri 4 Dec 15:00 UTC
    assert "“Friday afternoons”" in texts(first)
    # The first day, in Paris: the Monday 00:10 UTC change is at 01:10 on Monday.
    monday = next(b for b in first["blocks"] if "*Monday 30 November*" in str(b))
    lines = monday["text"]["text"]
    assert "<!date^1795997400^{time}|00:10 UTC> :spiral_calendar_pad: planned *CHG-1* Change " \
        "number 1 · In review · `acme/service-0`" in lines
    assert ":warning: conflicts with CHG-56 on `acme/service-0`" in lines
    assert ":crescent_moon: outside business hours" in lines
    assert [e["action_id"] for b in first["blocks"] if b["type"] == "actions"
            for e in b["elements"]] == ["calendar_page_next"]

    message = {**first, "ts": "1.000001", "is_ephemeral": True}
    reply = await bot.click("alice", "calendar_page_next", channel=CHANGES, message=message)
    assert reply.status == 200
    await bot.settle()
    second = bot.slack.responses(user="U0ALICE")[-1]
    assert block_errors(second["blocks"]) == []
    assert "page 2 of 3" in texts(second)
    assert [e["action_id"] for b in second["blocks"] if b["type"] == "actions"
            for e in b["elements"]] == ["calendar_page_previous", "calendar_page_next"]
    assert ":rocket: deployed" not in texts(second)  # CHG-4 and CHG-5 are on page 1

    third = await calendar(bot, "alice", "2026-12-02")  # pages hold every entry once
    seen = set()
    for page in range(1, 4):
        message = third if page == 1 else bot.slack.responses(user="U0ALICE")[-1]
        for block in message["blocks"]:
            if block["type"] == "section" and "*CHG-" in str(block):
                seen |= {part.split("*")[0] for part in str(block).split("*CHG-")[1:]}
        if page < 3:
            await bot.click("alice", "calendar_page_next", channel=CHANGES,
                            message={**message, "ts": "1.000001"})
            await bot.settle()
    assert seen == {str(n) for n in range(1, 57)}


async def test_a_quiet_week_and_a_week_that_cannot_be_read(bot):
    quiet = await calendar(bot, "bob", "")
    assert "Nothing planned or deployed this week." in texts(quiet)
    assert "calendar_page" not in texts(quiet)
    answer = await calendar(bot, "bob", "someday")
    assert answer["text"].startswith("I can't read `someday` as a week. Try `/change calendar`")


async def test_the_app_home_shows_this_week(bot):
    bot.clock.set(MONDAY + timedelta(hours=8))
    await busy_week(bot, count=12)
    home = await bot.open_home("alice")
    assert block_errors(home["blocks"], limit=100) == []
    text = str(home["blocks"])
    assert "'text': 'This week'" in text
    assert ":snowflake: <!date^1796396400^" in text  # the Friday freeze
    assert "<!date^1795997400^{date_short_pretty} {time}|2026-11-30 00:10 UTC> " \
        ":spiral_calendar_pad: planned *CHG-1* Change number 1" in text
    assert "…and 3 more: `/change calendar` shows the whole week" in text
