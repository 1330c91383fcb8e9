"""An emergency names the deployment it repairs ("Fixes CHG-n"): checked in the form, shown on
the card and in `/change show`, and counted by DORA's change fail rate and recovery time."""

from datetime import timedelta

from sqlmodel import select

from bot.insights import dora
from bot.insights.records import load_history
from storage.models import Change
from tests.emergency.test_emergency import EMERGENCY, broadcasts, declare
from tests.flows import (
    approved,
    card_text,
    cards,
    click,
    deployed,
    fill,
    last_view,
    open_modal,
    propose,
    staged,
)


async def in_production_normally(bot) -> int:
    change_id = await approved(bot)
    await staged(bot, change_id)
    await deployed(bot, change_id)
    return change_id


async def figures(bot) -> dora.Figures:
    now = bot.clock.now()
    span = dora.Span(now - timedelta(days=30), now + timedelta(seconds=1))
    async with bot.ctx.db.session() as session:
        return dora.measure(await load_history(session, span), span)


async def fixes_of(bot, change_id: int) -> int | None:
    async with bot.ctx.db.session() as session:
        change = (await session.exec(select(Change).where(Change.id == change_id))).one()
    return change.fixes_change_id


async def test_an_emergency_fixing_a_deployment_makes_it_a_failure_in_the_metrics(bot):
    broken = await in_production_normally(bot)
    bot.clock.advance(timedelta(hours=1))
    assert (await figures(bot)).change_fail_rate == 0.0  # one deployment, nothing failed

    fix = await declare(bot, fixes="chg-1")
    assert await fixes_of(bot, fix) == broken
    assert "Fixes *CHG-1*" in card_text(bot, fix)
    bot.clock.advance(timedelta(minutes=20))
    await deployed(bot, fix)

    after = await figures(bot)
    assert after.deployments == 2 and after.rework == 1
    assert after.change_fail_rate == 0.5  # CHG-1's deployment needed the emergency
    assert after.recovery_time == timedelta(hours=1, minutes=20)

    await bot.command("alice", f"show CHG-{fix}")
    await bot.settle()
    shown = str(bot.slack.responses(user="U0ALICE")[-1]["blocks"])
    assert "Fixes *CHG-1*" in shown


async def test_without_fixes_the_same_emergency_fails_nothing(bot):
    await in_production_normally(bot)
    bot.clock.advance(timedelta(hours=1))
    fix = await declare(bot)
    await deployed(bot, fix)
    after = await figures(bot)
    assert after.deployments == 2 and after.rework == 1 and after.change_fail_rate == 0.0
    assert "Fixes" not in card_text(bot, fix)


async def test_a_bad_fixes_is_answered_under_the_field_and_opens_nothing(bot):
    waiting = await propose(bot)  # proposed, never deployed
    for value, said in (("yesterday's deploy", "is not a change id"),
                        ("CHG-99", "There is no CHG-99"),
                        (f"CHG-{waiting}", "has not been deployed to production")):
        view = await open_modal(bot, "alice", "emergency")
        reply = await bot.submit("alice", view, {**EMERGENCY, "fixes": value})
        await bot.settle()
        assert said in reply.json()["errors"]["fixes"], value
    assert len(cards(bot)) == 1 and broadcasts(bot) == []


async def test_editing_an_emergency_keeps_its_fixes_and_refuses_itself(bot):
    broken = await in_production_normally(bot)
    fix = await declare(bot, fixes=f"CHG-{broken}")
    await click(bot, "alice", "change_edit", fix)
    modal = last_view(bot)
    field = next(b for b in modal["blocks"] if b.get("block_id") == "fixes")
    assert field["element"]["initial_value"] == f"CHG-{broken}"
    reply = await fill(bot, "alice", {**EMERGENCY, "fixes": f"CHG-{fix}"})
    assert "cannot repair itself" in reply.json()["errors"]["fixes"]
    assert await fixes_of(bot, fix) == broken
