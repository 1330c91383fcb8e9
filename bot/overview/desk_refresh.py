"""Republish the desks (App Home) of the people a change concerns when it moves.

Scheduled with every card refresh (bot.change.work.refresh_card: every change of state, in
every flow), as outbox rows of kind "desk" (bot.overview.desk.publish_desk). Coalesced per
person: the key names the person and the next multiple of COALESCE, so a burst of moves
makes one row each, due after the last of them (a row is due strictly after the move that
scheduled it, so it reads that move). A change the security team or the infrastructure team
approves also schedules its group (`S…`): the row publishes each member's desk.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.gates import infrastructure_reasons
from bot.change.rows import facts_of
from bot.context import Context
from bot.policy import Policy
from bot.slack import outbox
from storage.models import Change

DESK = "desk"
COALESCE = timedelta(seconds=15)


def next_slot(now: datetime) -> datetime:
    step = int(COALESCE.total_seconds())
    return datetime.fromtimestamp((int(now.timestamp()) // step + 1) * step, UTC)


def concerned(change: Change, policy: Policy) -> set[str]:
    """Its author, its requested reviewers and whoever deployed it (Slack users only), and
    the teams whose approval it needs (their user groups). Anyone else's desk is brought up
    to date when they open it."""
    people = {change.author_id, *change.reviewers, change.deployed_by or ""}
    if change.security_required:
        people.add(policy.groups.security or "")
    if infrastructure_reasons(facts_of(change, ()), policy):
        people.add(policy.groups.infrastructure or "")
    return {p for p in people if p[:1] in ("U", "W", "S")}


async def schedule_desks(session: AsyncSession, ctx: Context, change: Change) -> None:
    now = ctx.clock.now()
    due = next_slot(now)
    for person in sorted(concerned(change, ctx.policy)):
        await outbox.schedule(session, ctx, key=f"{DESK}:{person}:{int(due.timestamp())}",
                              kind=DESK, recipient=person, due_at=due)
