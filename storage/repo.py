"""Queries. Handlers never talk SQL: they call the core, which calls these."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, text
from sqlalchemy.orm import load_only
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import audit_chain
from storage.enums import Status
from storage.models import OPEN_SQL, Approval, AuditEvent, Change

CLOSED_STATUSES = (Status.completed, Status.cancelled, Status.rolled_back)


def is_postgresql(session: AsyncSession) -> bool:
    """Upserts and row locks are spelled per dialect; everything else is the same SQL."""
    return session.get_bind().dialect.name == "postgresql"


async def get_change(session: AsyncSession, change_id: int, *, lock: bool = False) -> Change | None:
    query = select(Change).where(Change.id == change_id)
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def open_changes(session: AsyncSession, first_author: str | None = None,
                       *columns: Any) -> Sequence[Change]:
    """Changes not yet closed; `first_author`'s own first, then newest first. With
    `columns`, only those are loaded (reading another attribute raises instead of querying
    once per change)."""
    # The partial index's own predicate, spelled literally: bound parameters would not let
    # SQLite (nor PostgreSQL's generic plans) see that ix_changes_open covers the query.
    query = select(Change).where(text(OPEN_SQL))
    if columns:
        query = query.options(load_only(*columns, raiseload=True))
    if first_author:
        query = query.order_by(case((col(Change.author_id) == first_author, 0), else_=1))
    query = query.order_by(col(Change.id).desc())
    return (await session.exec(query)).all()


async def open_change_ids(session: AsyncSession, first_author: str) -> list[int]:
    """The ids of open_changes(first_author=…), in its order, read from the partial index
    alone: how many there are and which fall on a page, without loading any of them."""
    query = (select(Change.id).where(text(OPEN_SQL))
             .order_by(case((col(Change.author_id) == first_author, 0), else_=1),
                       col(Change.id).desc()))
    return list((await session.exec(query)).all())


async def changes_by_ids(session: AsyncSession, change_ids: Sequence[int]) -> list[Change]:
    """These changes (a page of them), in the order of `change_ids`."""
    query = select(Change).where(col(Change.id).in_(change_ids))
    found = {c.id: c for c in (await session.exec(query)).all()}
    return [found[i] for i in change_ids if i in found]


async def audit_history(session: AsyncSession, change_id: int) -> Sequence[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.change_id == change_id)
        .order_by(col(AuditEvent.id))
    )
    return (await session.exec(query)).all()


async def audit_tail(
    session: AsyncSession, change_id: int, limit: int
) -> tuple[Sequence[AuditEvent], int]:
    """A change's last `limit` events, oldest first, and how many it has in all."""
    total = await _audit_count(session, change_id)
    query = (select(AuditEvent).where(AuditEvent.change_id == change_id)
             .order_by(col(AuditEvent.id).desc()).limit(limit))
    return list(reversed((await session.exec(query)).all())), total


async def _audit_count(session: AsyncSession, change_id: int) -> int:
    return (await session.exec(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.change_id == change_id)
    )).one()


async def audit_page(
    session: AsyncSession, change_id: int, *, offset: int, limit: int
) -> tuple[Sequence[AuditEvent], int]:
    """One page of a change's events, oldest first, and how many it has in all."""
    total = await _audit_count(session, change_id)
    query = (
        select(AuditEvent)
        .where(AuditEvent.change_id == change_id)
        .order_by(col(AuditEvent.id))
        .offset(offset)
        .limit(limit)
    )
    return (await session.exec(query)).all(), total


async def add_audit(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    change_id: int | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append an audit event to the session's transaction (it commits with the change),
    chained to the one before it (storage.audit_chain)."""
    return await audit_chain.append(
        session, at=at, actor=actor, action=action, change_id=change_id, detail=detail
    )


async def approvals_of(session: AsyncSession, change_id: int) -> Sequence[Approval]:
    query = select(Approval).where(Approval.change_id == change_id).order_by(col(Approval.id))
    return (await session.exec(query)).all()


# What the facts of a change read of its approvals (bot.change.rows): not the reasons.
DECISION_COLUMNS = (Approval.id, Approval.change_id, Approval.revision, Approval.kind,
                    Approval.decision, Approval.actor, Approval.user_id, Approval.source,
                    Approval.github_login, Approval.commit_sha, Approval.tech_lead,
                    Approval.infrastructure, Approval.created_at)


async def approvals_by_change(
    session: AsyncSession, change_ids: Sequence[int], *columns: Any
) -> dict[int, list[Approval]]:
    """The approvals of many changes in one query (a list never asks once per change);
    with `columns` (e.g. DECISION_COLUMNS), only those are loaded."""
    found: dict[int, list[Approval]] = {change_id: [] for change_id in change_ids}
    for start in range(0, len(change_ids), 500):  # under every database's parameter limit
        query = (
            select(Approval)
            .where(col(Approval.change_id).in_(change_ids[start:start + 500]))
            .order_by(col(Approval.id))
        )
        if columns:
            query = query.options(load_only(*columns, raiseload=True))
        for approval in (await session.exec(query)).all():
            found[approval.change_id].append(approval)
    return found


async def change_by_source(session: AsyncSession, source_key: str) -> Change | None:
    return (await session.exec(select(Change).where(Change.source_key == source_key))).first()


async def overdue_retrospectives(session: AsyncSession, now: datetime) -> Sequence[Change]:
    """Deployed emergencies whose retrospective fell due and is not recorded, oldest due first."""
    query = (
        select(Change)
        .where(Change.category == "emergency")
        .where(col(Change.retrospective_done_at).is_(None))
        .where(col(Change.retrospective_due_at) <= now)
        .order_by(col(Change.retrospective_due_at), col(Change.id))
    )
    return (await session.exec(query)).all()
