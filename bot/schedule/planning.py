"""When a change is proposed or revised with a planned time (bot.flows.proposal): the cards
of the changes it conflicts with are refreshed (both cards show the conflict), it is
recorded, and both authors are told — once per pair."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.work import audit, dm, refresh_card
from bot.context import Context
from bot.runtime.durations import spell
from bot.schedule.planned import conflicting, planned
from bot.slack.text import escape
from storage.models import Change

CONFLICT_FLAGGED = "conflict_flagged"


async def flag_conflicts(session: AsyncSession, ctx: Context, change: Change) -> None:
    """On a proposal or revision: refresh the cards of the changes it conflicts with (both
    cards show it), record it, and tell both authors — once per pair."""
    window = spell(ctx.policy.calendar.conflict_window, smallest="min")
    for other, row in await conflicting(session, ctx.policy, change):
        first, second = sorted((change.id or 0, other.change_id))
        mine = planned(change)
        await refresh_card(session, ctx, row)
        await audit(session, ctx, change, "changebot", CONFLICT_FLAGGED,
                    other=other.change_id, service=other.service)
        for author, theirs, ours in ((change.author_id, other, mine),
                                     (row.author_id, mine, other)):
            await dm(session, ctx, change if author == change.author_id else row, author,
                     f":warning: *{ours.name}* ({escape(ours.title)}) and *{theirs.name}* "
                     f"({escape(theirs.title)}) are both planned on `{ours.service}` within "
                     f"{window} of each other. Agree on an order with <@{theirs.author}>.",
                     key=f"conflict:{first}:{second}:{author}")

