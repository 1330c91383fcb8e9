"""Freeze windows over real HTTP: the clock moves through a weekly freeze and a dated one
(deploy refused, emergency deployed with its bypass on record), and the one-off freezes a
tech lead declares, lists and lifts in Slack."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from bot.playground.standin.workspace import CHANGES, ENGINEERING, demo_policy
from bot.schedule.evidence import frozen_deployments
from bot.schedule.policy import DatedFreeze, Freezes, RecurringFreeze
from storage.models import AuditEvent, Change, DeclaredFreeze
from tests.emergency.test_emergency import declare as declare_emergency
from tests.flows import (
    approved,
    card_text,
    click,
    deployed,
    last_answer,
    last_view,
    propose,
    staged,
)
from tests.schedule.packs import exported

FRIDAYS = RecurringFreeze(name="Friday afternoons", reason="no deploys before the weekend",
                          days="fri", start="15:00", end="24:00")
HOLIDAYS = DatedFreeze(name="Holidays", reason="skeleton crew", start=date(2026, 12, 20),
                       end=date(2027, 1, 4))
FRIDAY_3_30PM = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
MONDAY_10AM = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
HOLIDAYS_TUESDAY_10AM = datetime(2026, 12, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def policy():
    return demo_policy(freezes=Freezes(recurring=[FRIDAYS], dated=[HOLIDAYS]))


async def the_change(bot, change_id: int) -> Change:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(Change).where(Change.id == change_id))).one()


async def audit(bot, action: str | None = None) -> list[AuditEvent]:
    async with bot.ctx.db.session() as session:
        query = select(AuditEvent)
        if action:
            query = query.where(AuditEvent.action == action)
        return list((await session.exec(query.order_by(col(AuditEvent.id)))).all())


async def declared(bot) -> list[DeclaredFreeze]:
    async with bot.ctx.db.session() as session:
        return list((await session.exec(select(DeclaredFreeze))).all())


async def ready(bot) -> int:
    change_id = await approved(bot)
    await staged(bot, change_id)
    return change_id


async def command(bot, user: str, text: str) -> str:
    reply = await bot.command(user, text)
    assert reply.status == 200, reply.text
    await bot.settle()
    if reply.text.strip():
        return reply.json()["text"]
    return last_answer(bot, user)


def top_level(bot, channel: str) -> list[str]:
    return [m["text"] for m in bot.slack.messages(channel) if not m.get("thread_ts")]


# ---- the policy's freezes, the clock moving through them ------------------------------------


async def test_the_clock_moves_through_a_weekly_freeze_deploy_refused_then_allowed(bot):
    change_id = await ready(bot)
    assert "*Freeze*: no freeze in effect (next: “Friday afternoons”" in card_text(bot,
                                                                                  change_id)
    bot.clock.set(FRIDAY_3_30PM)
    events = len(await audit(bot))
    await click(bot, "alice", "change_deploy", change_id)
    answer = last_answer(bot, "alice")
    assert "CHG-1 was not deployed: 1 gate is not met." in answer
    assert ("*Freeze*: inside the freeze “Friday afternoons” (no deploys before the weekend) "
            "— to open it: deploy after Sat 28 Nov 00:00 UTC") in answer
    assert (await the_change(bot, change_id)).status == "ready"
    assert len(await audit(bot)) == events

    bot.clock.set(MONDAY_10AM)
    await deployed(bot, change_id)
    change = await the_change(bot, change_id)
    assert change.status == "monitoring"
    [event] = await audit(bot, "deployed_to_production")
    assert event.detail["gates"]["freeze"] == "met"


async def test_inside_a_dated_freeze_a_deploy_is_refused_and_an_emergency_records_its_bypass(
        bot):
    change_id = await ready(bot)
    bot.clock.set(HOLIDAYS_TUESDAY_10AM)
    await click(bot, "alice", "change_deploy", change_id)
    assert ("*Freeze*: inside the freeze “Holidays” (skeleton crew) — to open it: deploy "
            "after Tue 5 Jan 00:00 UTC") in last_answer(bot, "alice")
    assert (await the_change(bot, change_id)).status == "ready"

    emergency = await declare_emergency(bot, "carol")
    assert "*Freeze*: inside the freeze “Holidays” (skeleton crew) until Tue 5 Jan 00:00 UTC" \
        " — an emergency may deploy, the bypass is recorded" in card_text(bot, emergency)
    await click(bot, "carol", "change_deploy", emergency)
    assert last_view(bot)["callback_id"] == "change_deploy"
    await deployed(bot, emergency, "carol")
    assert (await the_change(bot, emergency)).status == "monitoring"
    bypasses = {e.detail["gate"]: e for e in await audit(bot, "gate_bypassed")}
    assert bypasses["freeze"].detail["reason"] == (
        "deployed inside the freeze “Holidays” (skeleton crew) under the emergency process")
    assert (bypasses["freeze"].actor, bypasses["freeze"].change_id) == ("U0CAROL", emergency)
    [event] = await audit(bot, "deployed_to_production")
    assert event.detail["gates"]["freeze"] == "bypassed"

    # The evidence pack's list of deployments inside a freeze.
    async with bot.ctx.db.session() as session:
        frozen = await frozen_deployments(session, bot.ctx.policy, datetime(
            2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert [f.as_row() for f in frozen] == [{
        "change": "CHG-2", "at": HOLIDAYS_TUESDAY_10AM.isoformat(), "by": "U0CAROL",
        "source": "slack", "freeze": "Holidays", "reason": "skeleton crew", "rule": "bypassed"}]
    # ... and the pack itself, in each format, with Carol by name (CHG-1 never deployed).
    packs = await exported(bot, "2026-12-01", "2026-12-31")
    assert packs.markdown_section("Deployments inside a freeze") == [
        "| CHG-2 | 2026-12-22 10:00 UTC | Carol Reviewer (U0CAROL) | Holidays | skeleton crew "
        "| bypassed | Slack |"]
    assert ("| Production deployments inside a freeze | 1 (0 broken, 1 bypassed) |"
            in packs.markdown)
    assert packs.json["deployments_inside_freezes"] == [{
        "change": "CHG-2", "at": HOLIDAYS_TUESDAY_10AM.isoformat(), "by": "U0CAROL",
        "by_name": "Carol Reviewer", "source": "slack", "freeze": "Holidays",
        "reason": "skeleton crew", "rule": "bypassed"}]
    assert packs.json["summary"]["deployments_inside_freezes"] == 1
    assert packs.json["summary"]["deployments_inside_freezes_by_rule"] == {
        "broken": 0, "bypassed": 1}
    assert packs.json["people"]["U0CAROL"] == "Carol Reviewer"
    assert [(r["change"], r["deployments_inside_freezes"]) for r in packs.csv] == [(
        "CHG-2", "2026-12-22 10:00:00 by Carol Reviewer (U0CAROL) via slack inside Holidays "
        "(skeleton crew): bypassed")]
    assert "1 production deployment(s) inside a freeze" in packs.described
    # November's pack: nothing was deployed inside a freeze then.
    november = await exported(bot, "2026-11-01", "2026-11-30")
    assert november.markdown_section("Deployments inside a freeze") == ["None."]
    assert november.json["deployments_inside_freezes"] == []


# ---- one-off freezes declared in Slack ------------------------------------------------------


async def test_a_tech_lead_declares_a_freeze_it_is_announced_and_holds_until_lifted(bot):
    change_id = await ready(bot)
    answer = await command(bot, "dave", "freeze now 2026-11-26 Black Friday launch")
    assert answer.startswith("FRZ-1 is declared: production is frozen from <!date^")
    assert "It is on the record and announced in <#C0CHANGES> and <#C0ENGINEERING>." in answer
    [row] = await declared(bot)
    assert (row.starts_at, row.ends_at, row.reason, row.declared_by, row.timezone) == (
        bot.clock.now(), datetime(2026, 11, 27, tzinfo=UTC), "Black Friday launch", "U0DAVE",
        "UTC")
    [event] = await audit(bot, "freeze_declared")
    assert (event.actor, event.change_id, event.detail["freeze"]) == ("U0DAVE", None, 1)
    await bot.sweep()
    for channel in (CHANGES, ENGINEERING):
        [note] = [t for t in top_level(bot, channel) if "FRZ-1" in t]
        assert note.startswith(":snowflake: *Production freeze FRZ-1* declared by <@U0DAVE>")
        assert note.endswith("— Black Friday launch. Only emergency changes may deploy then.")

    # The card's Freeze gate followed (it is refreshed when a freeze is declared).
    assert "*Freeze*: inside the freeze “FRZ-1” (Black Friday launch)" in card_text(
        bot, change_id)

    listed = await command(bot, "alice", "freeze list")
    assert listed.startswith(":snowflake: Frozen now: “FRZ-1” (Black Friday launch) until")
    blocks = str(bot.slack.responses(user="U0ALICE")[-1]["blocks"])
    assert "*FRZ-1* <!date^" in blocks and "declared by <@U0DAVE>" in blocks
    assert "*Friday afternoons* Fri 15:00–24:00 UTC — no deploys before the weekend" in blocks
    assert "*Holidays*" in blocks

    await click(bot, "alice", "change_deploy", change_id)
    assert "*Freeze*: inside the freeze “FRZ-1” (Black Friday launch)" in last_answer(
        bot, "alice")

    refused = await command(bot, "alice", "unfreeze FRZ-1")
    assert refused == ("Only a tech lead (<!subteam^S0TECHLEADS>) can lift a freeze: ask one "
                       "of them. Nothing was recorded.")
    assert await audit(bot, "freeze_lifted") == []
    assert await command(bot, "dave", "unfreeze frz-1") == (
        "FRZ-1 is lifted. It is on the record and announced.")
    [row] = await declared(bot)
    assert (row.lifted_at, row.lifted_by) == (bot.clock.now(), "U0DAVE")
    [event] = await audit(bot, "freeze_lifted")
    assert event.actor == "U0DAVE"
    await bot.sweep()
    assert any(t.startswith(":sunny: <@U0DAVE> lifted the production freeze FRZ-1")
               for t in top_level(bot, ENGINEERING))
    assert await command(bot, "dave", "unfreeze FRZ-1") == (
        "FRZ-1 was already lifted by <@U0DAVE>.")

    await deployed(bot, change_id)
    assert (await the_change(bot, change_id)).status == "monitoring"


async def freeze_count(bot) -> int:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(func.count()).select_from(DeclaredFreeze))).one()


@pytest.mark.parametrize(("user", "text", "said"), [
    ("alice", "freeze now 2026-11-26 launch",
     "Only a tech lead (<!subteam^S0TECHLEADS>) can declare a freeze"),
    ("dave", "freeze", "Declare a freeze with `/change freeze FROM TO [ZONE] REASON`"),
    ("dave", "freeze now 2026-11-26", "A freeze needs a start, an end and a reason"),
    ("dave", "freeze 2026-11-01 2026-11-02 late", "2026-11-02 is in the past: a freeze must "
     "end in the future. Nothing was recorded."),
    ("dave", "freeze 2026-11-30 2026-11-28 backwards", "The freeze would end (2026-11-28) "
     "before it starts (2026-11-30): write the start first, then the end."),
    ("dave", "freeze now 2026-11-26 Mars/Olympus launch", "`Mars/Olympus` is not a time zone"),
    ("dave", "freeze 2026-12-19 2026-12-21 overlap", "It overlaps “Holidays” (skeleton crew)"),
    ("dave", "freeze 26/12/2026 2026-12-27 x", "`26/12/2026` is not a date"),
    ("dave", "unfreeze", "'nothing' is not a freeze: write e.g. FRZ-3."),
    ("dave", "unfreeze FRZ-7", "There is no FRZ-7"),
    ("dave", "unfreeze 99999999999", "is not a freeze"),
])
async def test_bad_freeze_commands_are_answered_and_record_nothing(bot, user, text, said):
    events = len(await audit(bot))
    answer = await command(bot, user, text)
    assert said in answer
    assert await freeze_count(bot) == 0
    assert len(await audit(bot)) == events


async def test_a_freeze_may_not_overlap_one_already_declared(bot):
    await command(bot, "dave", "freeze 2026-11-30 2026-12-02 migration week")
    answer = await command(bot, "dave", "freeze 2026-12-02T12:00 2026-12-03 pen test")
    assert answer == ("It overlaps “FRZ-1” (migration week): production is frozen then "
                      "already. Lift it first (`/change unfreeze FRZ-n`) or choose dates "
                      "around it. Nothing was recorded.")
    assert await freeze_count(bot) == 1
    answer = await command(bot, "dave", "freeze 2026-12-03 2026-12-03 pen test")
    assert answer.startswith("FRZ-2 is declared")


async def test_a_freeze_lifted_after_a_deploy_still_shows_on_that_deploys_card(bot):
    """The card shows the gates as they stood at the deployment: the freeze that held then."""
    await command(bot, "dave", "freeze now 2026-11-26 launch")
    emergency = await declare_emergency(bot, "carol")
    await deployed(bot, emergency, "carol")
    bot.clock.advance(timedelta(hours=1))
    await command(bot, "dave", "unfreeze FRZ-1")
    await click(bot, "bob", "change_approve", emergency)  # any refresh of the card
    await bot.sweep()
    assert "inside the freeze “FRZ-1” (launch)" in card_text(bot, emergency)


async def test_a_change_planned_inside_a_freeze_is_warned_on_its_card_not_refused(bot):
    change_id = await propose(bot, planned_at=FRIDAY_3_30PM)
    assert (await the_change(bot, change_id)).planned_at == FRIDAY_3_30PM
    text = card_text(bot, change_id)
    assert (":snowflake: Planned inside the freeze “Friday afternoons” (no deploys before the "
            "weekend): the deploy will be refused then. Plan it around the freeze.") in text
    assert "Planned outside business hours" not in text
    night = await propose(bot, planned_at=MONDAY_10AM - timedelta(hours=3))
    assert ":crescent_moon: Planned outside business hours (Mon–Fri 09:00–17:00 UTC)" in \
        card_text(bot, night)
    fine = await propose(bot, planned_at=MONDAY_10AM)
    assert "Planned inside" not in card_text(bot, fine)
