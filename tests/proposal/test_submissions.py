"""A change's form is kept before Slack is answered and recorded after (bot.proposal.submissions):
nothing lost when the process dies in between, nothing recorded twice, a late refusal told."""

from sqlmodel import func, select

from bot.proposal import submissions
from bot.proposal.proposals import validate_proposal
from storage.models import Change, Reminder
from tests.flows import PROPOSAL, cancel, cards, click, dms, open_modal, propose


async def count_changes(bot) -> int:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(func.count()).select_from(Change))).one()


async def test_a_submission_kept_before_a_crash_is_recorded_once_by_the_next_sweep(bot):
    view = await open_modal(bot, "alice")
    proposal = validate_proposal({**PROPOSAL}, author="U0ALICE", now=bot.clock.now(),
                                 rules=bot.ctx.policy.proposal)
    # What the handler does before its answer; the process then dies before recording it.
    key = await submissions.keep(bot.ctx, author="U0ALICE", source=view["id"],
                                 change_id=None, proposal=proposal)
    assert await count_changes(bot) == 0
    await bot.sweep()  # this replica restarted, or another one sweeping
    await bot.sweep()
    assert await count_changes(bot) == 1
    assert len(cards(bot)) == 1
    assert await bot.ctx.sweeper.run_now(key) is False  # recorded: nothing left to take
    reply = await bot.submit("alice", view, PROPOSAL)  # Slack retries the submission
    await bot.settle()
    assert reply.status == 200 and not reply.text.strip()
    assert await count_changes(bot) == 1
    assert len(cards(bot)) == 1


async def test_a_submission_is_recorded_right_after_the_answer(bot):
    view = await open_modal(bot, "alice")
    reply = await bot.submit("alice", view, PROPOSAL)
    assert reply.status == 200 and not reply.text.strip()
    await bot.settle()
    assert len(cards(bot)) == 1
    async with bot.ctx.db.session() as session:
        row = (await session.exec(select(Reminder).where(
            Reminder.kind == submissions.KIND))).one()
    assert row.sent_at is not None and row.attempts == 1


async def test_an_edit_refused_after_the_answer_is_told_in_a_direct_message(bot):
    change_id = await propose(bot)
    await click(bot, "alice", "change_edit", change_id)
    edit = bot.slack.opened_views()[-1]
    await cancel(bot, "alice", change_id)  # the change moves on while the form is open
    reply = await bot.submit("alice", edit, {**PROPOSAL, "testing": "Load-tested."})
    assert reply.status == 200 and not reply.text.strip()
    await bot.settle()
    await bot.sweep()
    told = [m["text"] for m in dms(bot, "alice")]
    assert any(text.startswith(f"Your edit of CHG-{change_id} was not saved:") for text in told)
    async with bot.ctx.db.session() as session:
        change = (await session.exec(select(Change).where(Change.id == change_id))).one()
    assert change.revision == 1 and change.status == "cancelled"
