"""Step 3 and 4 events: what follows an approval, a withdrawn approval, a rejection and a
cancellation."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.facts import ChangeFacts
from bot.change.states import Category, format_change_id
from bot.change.transition import transition
from bot.change.work import dm, refresh_card, thread_note
from bot.context import Context
from bot.emergency import after_deployment as emergency
from bot.review.reminders import PEER_KINDS
from bot.review.rules import counted_approvers, status_after_vote, status_after_withdrawal
from bot.slack import outbox as notify
from storage import reminder_store
from storage.models import Change


async def approval_counted(session: AsyncSession, ctx: Context, change: Change,
                           before: ChangeFacts, after: ChangeFacts, *, by: str) -> None:
    """An approval was recorded (`before` and `after` it), from whichever path: a click in
    Slack, a GitHub review, the security team's approval, or a GitHub login linked later.

    1. Approvals met: the change is approved (audit event), its reviewers stop being
       reminded, and its author is told.
    2. An emergency says it in its broadcast's thread (and, after its deployment, that its
       approval is complete).
    The caller refreshes the card once it recorded everything.
    """
    new_status = status_after_vote(after, ctx.policy)
    if new_status != after.status:
        await transition(session, ctx, change, new_status, actor="changebot",
                         action="approved", approvers=list(counted_approvers(after, ctx.policy)))
        await reminder_store.cancel(session, now=ctx.clock.now(), change_id=change.id or 0,
                                    kinds=PEER_KINDS, reason="approvals met")
        await dm(session, ctx, change, change.author_id,
                 f"*{format_change_id(change.id or 0)}* is approved: its approvals are met.",
                 key=f"approved:{change.id}:r{change.revision}")
    if after.category == Category.emergency:
        await emergency.approved(session, ctx, change, before, after, by=by)


async def approval_withdrawn(session: AsyncSession, ctx: Context, change: Change,
                             after: ChangeFacts) -> bool:
    """A GitHub review no longer approves it: back to review when the rest fall short.
    True when the status moved."""
    new_status = status_after_withdrawal(after, ctx.policy)
    if new_status == after.status:
        return False
    await transition(session, ctx, change, new_status, actor="changebot",
                     action="approval_withdrawn",
                     reason="a GitHub review no longer approves it")
    await thread_note(session, ctx, change, "An approval given on GitHub was withdrawn: the "
                      "change is back in review.")
    return True


async def rejected(session: AsyncSession, ctx: Context, change: Change, *, by: str,
                   reason: str) -> None:
    """The author is told why and how to revise; the thread and the card show it."""
    cid = format_change_id(change.id or 0)
    await dm(session, ctx, change, change.author_id,
             f"<@{by}> rejected *{cid}*: {reason}\nRevise it with *Revise* on the card.",
             key=f"rejected:{change.id}:r{change.revision}")
    await thread_note(session, ctx, change, f"Rejected by <@{by}>: {reason}")
    await refresh_card(session, ctx, change)


async def cancelled(session: AsyncSession, ctx: Context, change: Change, *, by: str) -> None:
    """Nothing waits on a cancelled change any more; what was said still goes out."""
    await reminder_store.cancel(session, now=ctx.clock.now(), change_id=change.id or 0,
                                kinds_except=notify.RECORD_KINDS,
                                reason="the change was cancelled")
    await thread_note(session, ctx, change, f"Cancelled by <@{by}>.")
    await refresh_card(session, ctx, change)
