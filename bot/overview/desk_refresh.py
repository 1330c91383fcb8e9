"""Republish the desks (App Home) of the people a change concerns when it moves.

Scheduled with every card refresh (bot.change.work.refresh_card: every change of state, in
every flow), as outbox rows of kind "desk" (bot.overview.desk.publish_desk). Coalesced per
person: the key names the person and the next multiple of COALESCE, so a burst of moves
makes one row each, due after the last of them (a row is due strictly after the move that
scheduled it, so it reads that move).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import Context
from bot.slack import outbox
from storage.models import Change

DESK = "desk"
COALESCE = timedelta(seconds=15)


def next_slot(now: datetime) -> datetime:
    step = int(COALESCE.total_seconds())
    return datetime.fromtimestamp((int(now.timestamp()) // step + 1) * step, UTC)


def concerned(change: Change) -> set[str]:
    """Its author, its requested reviewers and whoever deployed it (Slack users only).
    Anyone else's desk is brought up to date when they open it."""
    people = {change.author_id, *change.reviewers, change.deployed_by or ""}
    return {p for p in people if p[:1] in ("U", "W")}


async def schedule_desks(session: AsyncSession, ctx: Context, change: Change) -> None:
    now = ctx.clock.now()
    due = next_slot(now)
    for person in sorted(concerned(change)):
        await outbox.schedule(session, ctx, key=f"{DESK}:{person}:{int(due.timestamp())}",
                              kind=DESK, recipient=person, due_at=due)
