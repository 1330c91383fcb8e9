"""The one transition: the lifecycle is asked, the audit event is written in the same call,
and a move the lifecycle refuses changes nothing."""

import pytest

from bot.change.actions import editing
from bot.change.states import Status
from bot.change.transition import TransitionRefused, transition
from storage import repo
from tests.flows import propose


async def history(bot, change_id: int) -> list[str]:
    async with bot.ctx.db.session() as session:
        return [e.action for e in await repo.audit_history(session, change_id)]


async def test_a_move_the_lifecycle_refuses_raises_and_writes_nothing(bot):
    change_id = await propose(bot)
    with pytest.raises(TransitionRefused, match="CHG-1 cannot go from in_review to completed"):
        async with editing(bot.ctx, change_id) as loaded:
            await transition(loaded.session, bot.ctx, loaded.change, Status.completed,
                             actor="U0ALICE", action="verified_in_production")
    async with bot.ctx.db.session() as session:
        assert (await repo.get_change(session, change_id)).status == "in_review"
    assert "verified_in_production" not in await history(bot, change_id)


async def test_an_allowed_move_is_written_with_its_audit_event(bot):
    change_id = await propose(bot)
    async with editing(bot.ctx, change_id) as loaded:
        await transition(loaded.session, bot.ctx, loaded.change, Status.cancelled,
                         actor="U0ALICE", action="cancelled", why="test")
    async with bot.ctx.db.session() as session:
        change = await repo.get_change(session, change_id)
        [event] = [e for e in await repo.audit_history(session, change_id)
                   if e.action == "cancelled"]
    assert change.status == "cancelled" and change.updated_at == bot.clock.now()
    assert (event.actor, event.detail) == ("U0ALICE", {"why": "test"})


async def test_staying_put_is_no_move_and_a_reported_move_is_a_fact(bot):
    change_id = await propose(bot)
    async with editing(bot.ctx, change_id) as loaded:
        # A revision of a change in review: it stays in review, the event is on record.
        await transition(loaded.session, bot.ctx, loaded.change, Status.in_review,
                         actor="U0ALICE", action="revised")
        # GitHub deployed it while in review: it happened, so it is recorded.
        await transition(loaded.session, bot.ctx, loaded.change, Status.monitoring,
                         actor="gh:octocat", action="deployed_to_production", reported=True)
    async with bot.ctx.db.session() as session:
        assert (await repo.get_change(session, change_id)).status == "monitoring"
    assert (await history(bot, change_id))[-2:] == ["revised", "deployed_to_production"]
