"""Queries for the change calendar and conflicts: changes by planned and deployed time."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Change


async def planned_between(session: AsyncSession, start: datetime, end: datetime
                          ) -> Sequence[Change]:
    """Changes planned in [start, end), whatever their status, by planned time."""
    query = (
        select(Change)
        .where(col(Change.planned_at) >= start, col(Change.planned_at) < end)
        .order_by(col(Change.planned_at), col(Change.id))
    )
    return (await session.exec(query)).all()


async def on_calendar(session: AsyncSession, start: datetime, end: datetime
                      ) -> Sequence[Change]:
    """Changes planned or deployed to production in [start, end)."""
    query = (
        select(Change)
        .where(or_(
            (col(Change.planned_at) >= start) & (col(Change.planned_at) < end),
            (col(Change.deployed_at) >= start) & (col(Change.deployed_at) < end),
        ))
        .order_by(col(Change.id))
    )
    return (await session.exec(query)).all()
