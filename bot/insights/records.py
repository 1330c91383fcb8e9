"""What DORA's metrics read, loaded from storage in three queries whatever the period holds.

    the changes deployed in the span (by Changebot or by GitHub), and the emergencies
    that name one of them as the change they fix             -> ChangeRecord
    every production deployment of those changes, and GitHub's production deployments
    in the span that matched no change                       -> DeploymentRecord

A change's deployments are its GitHub production deployments and the one Changebot
recorded (`deployed_at`), the latter dropped when GitHub reported it (same moment).
The first commit of a pull request is read from `pr_info["first_commit_at"]` (ISO 8601)
when the GitHub sync recorded it; otherwise the change is measured from its proposal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, union
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.insights.dora import ChangeRecord, DeploymentRecord, History, Span
from storage.models import Change, Deployment

_CHANGE_COLUMNS = (
    Change.id, Change.category, Change.created_at, Change.pr_repo,
    col(Change.pr_info)["first_commit_at"].as_string().label("first_commit_at"),
    Change.deployed_at, Change.rollback_started_at, Change.rollback_finished_at,
    Change.fixes_change_id,
)


def _relevant_change_ids(span: Span):
    """Changes deployed in the span, and the emergencies fixing one of them (a subquery).
    A union rather than `id IN … OR fixes_change_id IN …`: with the OR, PostgreSQL reads
    every change; each arm of the union reads its own index."""
    deployed = union(
        select(col(Change.id)).where(col(Change.deployed_at) >= span.start,
                                     col(Change.deployed_at) < span.end),
        select(col(Deployment.change_id)).where(col(Deployment.at) >= span.start,
                                                col(Deployment.at) < span.end,
                                                col(Deployment.change_id).is_not(None)),
    ).cte("deployed")
    return union(
        select(deployed.c[0]),
        select(col(Change.id)).where(col(Change.fixes_change_id).in_(select(deployed.c[0]))),
    )


async def load_history(session: AsyncSession, span: Span) -> History:
    ids = _relevant_change_ids(span)
    change_rows: Sequence[Any] = (await session.exec(
        select(*_CHANGE_COLUMNS).where(col(Change.id).in_(ids))  # type: ignore[call-overload]
    )).all()
    deployment_rows = (await session.exec(
        select(Deployment.at, Deployment.change_id, Deployment.repo).where(or_(
            col(Deployment.change_id).in_(ids),
            (col(Deployment.change_id).is_(None)) & (col(Deployment.at) >= span.start)
            & (col(Deployment.at) < span.end),
        ))
    )).all()

    github: dict[int | None, list[DeploymentRecord]] = defaultdict(list)
    for at, change_id, repo in deployment_rows:
        github[change_id].append(DeploymentRecord(at, change_id, repo))
    changes, deployments = [], list(github.pop(None, []))
    for row in change_rows:
        change = ChangeRecord(
            id=row.id, category=row.category, proposed_at=row.created_at, repo=row.pr_repo,
            first_commit_at=_first_commit(row.first_commit_at), fixes_change_id=row.fixes_change_id,
            rollback_started_at=row.rollback_started_at,
            rollback_finished_at=row.rollback_finished_at,
        )
        changes.append(change)
        reported = github.get(change.id, [])
        deployments.extend(reported)
        if row.deployed_at is not None and all(d.at != row.deployed_at for d in reported):
            deployments.append(DeploymentRecord(row.deployed_at, change.id, row.pr_repo))
    return History.of(changes, deployments)


def _first_commit(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
