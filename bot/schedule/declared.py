"""The freezes declared in Slack, read from the database as the rules read them (`Freeze`):
what every change's facts carry for the Freeze gate (bot.change.work)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.schedule.freeze import DECLARED, Freeze, format_freeze_id
from storage import freeze_store
from storage.models import DeclaredFreeze


def as_freeze(row: DeclaredFreeze) -> Freeze:
    """A stored freeze as the rules read it: lifted early, it ends when it was lifted."""
    ends = min(row.ends_at, row.lifted_at) if row.lifted_at else row.ends_at
    return Freeze(format_freeze_id(row.id or 0), row.reason, row.starts_at, ends, DECLARED,
                  row.id, row.declared_by)


async def declared_freezes(session: AsyncSession, moment: datetime) -> tuple[Freeze, ...]:
    """The declared freezes that hold at `moment` or later (what ChangeFacts.freezes holds)."""
    spans = [as_freeze(row) for row in await freeze_store.in_effect_after(session, moment)]
    return tuple(f for f in spans if f.ends_at > max(f.starts_at, moment))
