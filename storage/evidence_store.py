"""The reads of an evidence export: the changes of a period with their rows, streamed.

Changes come from one server-side cursor (`stream_scalars`, `yield_per`), a batch at a
time; each batch's approvals, GitHub deployments, audit events and the change rows as the
chain recorded them when they were deployed (storage.audit_rows) are read with one query
each. Memory stays at one batch however long the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit_rows import SNAPSHOT
from storage.models import Approval, AuditEvent, Change, Deployment

BATCH = 500


@dataclass(frozen=True)
class ChangeRows:
    """Everything recorded about one change."""

    change: Change
    approvals: list[Approval]
    deployments: list[Deployment]
    events: list[AuditEvent]
    # The change's row as chained in the transaction that deployed it (its CI then, the
    # commit that went out); None for a change never deployed, or deployed before rows
    # were chained.
    deployed_row: dict | None = None


def period_moment():
    """A change belongs to the period of its production deployment, or of its closure when
    it never reached production."""
    return func.coalesce(Change.deployed_at, Change.closed_at)


async def changes_in_period(
    session: AsyncSession, start: datetime, end: datetime, *, batch: int = BATCH
) -> AsyncIterator[ChangeRows]:
    moment = period_moment()
    query = (
        select(Change)
        .where(moment >= start, moment < end)
        .order_by(moment, col(Change.id))
        .execution_options(yield_per=batch)
    )
    changes = await session.stream_scalars(query)
    async for partition in changes.partitions(batch):
        ids = [c.id for c in partition]
        approvals = await _grouped(session, Approval, ids, Approval.id)
        deployments = await _grouped(session, Deployment, ids, Deployment.at)
        events = await _grouped(session, AuditEvent, ids, AuditEvent.id)
        deployed = await _rows_when_deployed(session, ids)
        for change in partition:
            yield ChangeRows(change, approvals.get(change.id, []),
                             deployments.get(change.id, []), events.get(change.id, []),
                             deployed.get(change.id or 0))
        # Nothing more to release: the session's identity map holds rows weakly, so a batch
        # is freed once its records are written.


async def _grouped(session: AsyncSession, model, ids: Sequence[int | None],
                   order) -> dict[int, list]:
    rows = await session.exec(
        select(model).where(col(model.change_id).in_(ids)).order_by(col(order), col(model.id))
    )
    grouped: dict[int, list] = defaultdict(list)
    for row in rows:
        grouped[row.change_id].append(row)
    return grouped


async def _rows_when_deployed(session: AsyncSession, ids: Sequence[int | None]
                              ) -> dict[int, dict]:
    """For each change, its first chained row with a production deployment."""
    detail = col(AuditEvent.detail)
    query = (
        select(AuditEvent.detail)
        .where(AuditEvent.action == SNAPSHOT, col(AuditEvent.change_id).is_(None),
               detail["table"].as_string() == "changes",
               detail["id"].as_integer().in_([i for i in ids if i is not None]))
        .order_by(col(AuditEvent.id))
    )
    found: dict[int, dict] = {}
    for snapshot in await session.exec(query):
        row = snapshot.get("row") or {}
        if row.get("deployed_at") and snapshot["id"] not in found:
            found[snapshot["id"]] = row
    return found


async def checkpoints_in_period(session: AsyncSession, start: datetime, end: datetime,
                                action: str) -> Sequence[AuditEvent]:
    """The audit checkpoints posted to Slack in the period (bot.evidence.witness)."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.at >= start, AuditEvent.at < end)
        .order_by(col(AuditEvent.id))
    )
    return (await session.exec(query)).all()


async def unmatched_deployments(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[Deployment]:
    """GitHub production deployments in the period that match no change."""
    query = (
        select(Deployment)
        .where(col(Deployment.change_id).is_(None), Deployment.at >= start, Deployment.at < end)
        .order_by(col(Deployment.at), col(Deployment.id))
    )
    return (await session.exec(query)).all()
