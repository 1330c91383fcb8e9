"""Queries on the one-off freezes declared in Slack (table `freezes`)."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import DeclaredFreeze


async def in_effect_after(session: AsyncSession, moment: datetime) -> Sequence[DeclaredFreeze]:
    """The declared freezes not over at `moment` (lifted early or not: the caller reads
    `lifted_at` as their end), by start."""
    query = (
        select(DeclaredFreeze)
        .where(col(DeclaredFreeze.ends_at) > moment)
        .order_by(col(DeclaredFreeze.starts_at), col(DeclaredFreeze.id))
    )
    return (await session.exec(query)).all()


async def get(session: AsyncSession, freeze_id: int, *, lock: bool = False
              ) -> DeclaredFreeze | None:
    query = select(DeclaredFreeze).where(DeclaredFreeze.id == freeze_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()
