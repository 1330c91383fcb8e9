"""What every path that completes a change's approvals must do, checked the same way for
each (tests/review and tests/github): approved on the record, the requested reviewers'
reminders cancelled at once, the author told."""

from __future__ import annotations

from sqlmodel import col, select

from bot.review.reminders import PEER_KINDS
from storage.models import AuditEvent, Change, Reminder
from tests.harness import BotHarness

APPROVED_DM = "*CHG-{n}* is approved: its approvals are met."


async def assert_approvals_met(bot: BotHarness, change_id: int) -> None:
    async with bot.ctx.db.session() as session:
        change = await session.get(Change, change_id)
        reminders = (await session.exec(
            select(Reminder).where(Reminder.change_id == change_id,
                                   col(Reminder.kind).in_(PEER_KINDS))
        )).all()
        approved = (await session.exec(
            select(AuditEvent).where(AuditEvent.change_id == change_id,
                                     AuditEvent.action == "approved")
        )).all()
    assert change is not None and change.status == "approved"
    assert len(approved) == 1 and approved[0].actor == "changebot"
    # Armed at the proposal, cancelled in the transaction that approved it (not merely
    # skipped later when one falls due).
    assert reminders, "the proposal armed no review reminders"
    assert all(r.sent_at is None and r.cancelled_at is not None for r in reminders), [
        (r.kind, r.sent_at, r.cancelled_at, r.last_error) for r in reminders]
    assert {r.last_error for r in reminders} == {"approvals met"}
    told = [m["text"] for m in bot.slack.dms(change.author_id)
            if APPROVED_DM.format(n=change_id) in m["text"]]
    assert len(told) == 1, bot.slack.dms(change.author_id)
