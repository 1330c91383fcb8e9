"""Queries for the change calendar and conflicts: changes by planned and deployed time."""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

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


_CALENDAR_COLUMNS = (
    Change.id, Change.title, Change.author_id, Change.status, Change.pr_repo, Change.pr_url,
    Change.service, Change.planned_at, Change.deployed_at, Change.card_channel, Change.card_ts,
)


class CalendarRow(Protocol):
    """What a calendar entry reads of a change (bot.schedule.planned): a stored change, or
    a row of on_calendar's."""

    @property
    def id(self) -> int | None: ...
    @property
    def title(self) -> str: ...
    @property
    def author_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def pr_repo(self) -> str | None: ...
    @property
    def pr_url(self) -> str | None: ...
    @property
    def service(self) -> str | None: ...
    @property
    def planned_at(self) -> datetime | None: ...
    @property
    def deployed_at(self) -> datetime | None: ...
    @property
    def card_channel(self) -> str | None: ...
    @property
    def card_ts(self) -> str | None: ...


async def on_calendar(session: AsyncSession, start: datetime, end: datetime
                      ) -> Sequence[CalendarRow]:
    """Changes planned or deployed to production in [start, end), as plain rows of what a
    calendar entry reads: a busy week holds thousands, and their texts are never shown."""
    query = (
        select(*_CALENDAR_COLUMNS)  # type: ignore[call-overload]
        .where(or_(
            (col(Change.planned_at) >= start) & (col(Change.planned_at) < end),
            (col(Change.deployed_at) >= start) & (col(Change.deployed_at) < end),
        ))
        .order_by(col(Change.id))
    )
    return (await session.exec(query)).all()
