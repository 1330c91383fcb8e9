"""Queries on the one-off freezes declared in Slack (table `freezes`)."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Change, DeclaredFreeze, Deployment

# Any constant will do; it only has to be the same in every replica.
_DECLARE_LOCK = 0x0C4A7F


async def lock_declarations(session: AsyncSession) -> None:
    """Serialise declarations (on PostgreSQL, until the transaction ends), so that two tech
    leads declaring at once cannot both pass the overlap check."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.exec(  # type: ignore[call-overload]
            text("SELECT pg_advisory_xact_lock(:key)"), params={"key": _DECLARE_LOCK}
        )


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


async def overlapping(session: AsyncSession, start: datetime, end: datetime
                      ) -> Sequence[DeclaredFreeze]:
    """The declared freezes that meet [start, end), lifted ones included, by start."""
    query = (
        select(DeclaredFreeze)
        .where(col(DeclaredFreeze.starts_at) < end, col(DeclaredFreeze.ends_at) > start)
        .order_by(col(DeclaredFreeze.starts_at), col(DeclaredFreeze.id))
    )
    return (await session.exec(query)).all()


async def production_deployments(session: AsyncSession, start: datetime, end: datetime
                                 ) -> tuple[Sequence[Change], Sequence[Deployment]]:
    """The changes deployed to production in [start, end), and GitHub's production
    deployments then (matched to a change or not)."""
    changes = (await session.exec(
        select(Change).where(col(Change.deployed_at) >= start, col(Change.deployed_at) < end)
        .order_by(col(Change.deployed_at), col(Change.id))
    )).all()
    reported = (await session.exec(
        select(Deployment).where(col(Deployment.at) >= start, col(Deployment.at) < end)
        .order_by(col(Deployment.at), col(Deployment.id))
    )).all()
    return changes, reported
