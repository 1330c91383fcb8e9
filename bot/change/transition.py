"""The one way a change's status moves: the lifecycle is asked first (bot.change.states), and
the audit event is written in the same call, so in the same transaction as the move.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Category, Status, allowed_next, can_transition, format_change_id
from bot.context import Context
from storage import repo
from storage.models import Change


class TransitionRefused(Exception):  # noqa: N818 - it names what was refused
    """The lifecycle does not allow this move: a bug in the caller, never a person's input
    (each use case asks its rule first and refuses in words)."""

    def __init__(self, change: Change, src: Status, dst: Status) -> None:
        allowed = ", ".join(sorted(allowed_next(src, Category(change.category)))) or "nothing"
        super().__init__(f"{format_change_id(change.id or 0)} cannot go from {src.value} to "
                         f"{dst.value} (allowed: {allowed})")
        self.src, self.dst = src, dst


async def transition(
    session: AsyncSession, ctx: Context, change: Change, to: Status, *, actor: str,
    action: str, reported: bool = False, **details: Any,
) -> None:
    """Move `change` to `to` and write the audit event `action` with `details`.

    Staying where it is (a revision of a change in review, a retrospective of a change rolled
    back) is no move and always allowed: only the audit event is written. `reported`: the
    move already happened outside the bot (GitHub deployed the change), so the lifecycle
    cannot refuse a fact; the caller records what it skipped as a deployment exception.
    """
    src = Status(change.status)
    if to != src and not reported and not can_transition(src, to, Category(change.category)):
        raise TransitionRefused(change, src, to)
    now = ctx.clock.now()
    change.status = to
    change.updated_at = now
    await repo.add_audit(session, at=now, actor=actor, action=action, change_id=change.id,
                         detail=details)
