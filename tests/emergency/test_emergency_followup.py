"""An emergency's follow-up does not stop: a missing approval and an overdue retrospective
are escalated again every `windows.escalation_repeat` until they are done."""

from datetime import timedelta

import pytest

from bot.playground.standin.workspace import demo_policy
from bot.policy import Windows
from tests.emergency.test_emergency import (
    RETROSPECTIVE,
    broadcast_thread,
    dm_texts,
    events,
    in_production,
)
from tests.flows import card_text, click, step

REPEAT = "Reminder 2: this is repeated every 24 h until it is approved."


def still_not_approved(bot) -> list[str]:
    return [t for t in dm_texts(bot, "dave") if "still not approved" in t]


def overdue(bot) -> list[str]:
    return [t for t in dm_texts(bot, "dave") if "is overdue" in t]


async def test_a_missing_approval_is_escalated_every_day_until_approved(bot):
    change_id = await in_production(bot)
    bot.clock.advance(timedelta(hours=4))
    await bot.sweep()
    assert len(still_not_approved(bot)) == 1
    bot.clock.advance(timedelta(hours=23, minutes=59))
    await bot.sweep()
    assert len(still_not_approved(bot)) == 1
    bot.clock.advance(timedelta(minutes=1))
    await bot.sweep()
    assert len(still_not_approved(bot)) == 2
    assert still_not_approved(bot)[-1].startswith(":rotating_light: The emergency *CHG-1")
    assert REPEAT in still_not_approved(bot)[-1]
    bot.clock.advance(timedelta(hours=24))
    await bot.sweep()
    assert len(still_not_approved(bot)) == 3
    assert [e.detail["round"] for e in await events(
        bot, change_id, "approval_missing_reminded")] == [1, 2, 3]

    await click(bot, "dave", "change_approve", change_id)
    assert "approved after deployment" in card_text(bot, change_id)
    bot.clock.advance(timedelta(days=14))
    await bot.sweep()
    assert len(still_not_approved(bot)) == 3  # done: no more


async def test_an_overdue_retrospective_is_escalated_every_day_until_recorded(bot):
    change_id = await in_production(bot)
    await click(bot, "bob", "change_approve", change_id)
    bot.clock.advance(timedelta(hours=24))
    await bot.sweep()
    assert len(overdue(bot)) == 1
    bot.clock.advance(timedelta(hours=24))
    await bot.sweep()
    assert len(overdue(bot)) == 2 and "Reminder 2: repeated every" in overdue(bot)[-1]
    assert len([n for n in broadcast_thread(bot) if "is overdue" in n]) == 2

    await step(bot, "alice", "change_retrospective", change_id, RETROSPECTIVE)
    bot.clock.advance(timedelta(days=14))
    await bot.sweep()
    assert len(overdue(bot)) == 2
    assert [e.detail["round"] for e in await events(
        bot, change_id, "retrospective_overdue")] == [1, 2]


@pytest.mark.parametrize("policy", [demo_policy(windows=Windows(escalation_repeat="0s"))])
async def test_the_policy_may_turn_the_repeats_off(bot):
    await in_production(bot)
    bot.clock.advance(timedelta(days=5))
    await bot.sweep()
    bot.clock.advance(timedelta(days=5))
    await bot.sweep()
    assert len(still_not_approved(bot)) == 1 and len(overdue(bot)) == 1
