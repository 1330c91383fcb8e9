"""A month of changes written as database rows: proposed, reviewed, deployed (one twice,
by Slack and by GitHub), one rolled back, one emergency fixing another, one deployment
matching no change. The figures it gives are worked out in tests/insights/test_dora.py."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Database
from storage.models import Change, Deployment


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def change(id: int, category: str, proposed: datetime, **fields) -> Change:
    status = fields.pop("status", "completed")
    return Change(id=id, title=f"Change {id}", description="d", category=category,
                  risk="low", rollback_plan="revert", author_id="U0ALICE", status=status,
                  created_at=proposed, updated_at=proposed, **fields)


async def seed_month(db: Database) -> None:
    _github_ids = iter(range(9001, 9100))

    def github(when: datetime, change_id: int | None, repo: str) -> Deployment:
        return Deployment(github_deployment_id=next(_github_ids), repo=repo,
                          environment="production", sha=f"{change_id}{when:%d%H}",
                          change_id=change_id, at=when)

    async with db.session() as session:
        session.add_all([
            change(1, "normal", at(28, month=10), pr_repo="acme/api",
                   deployed_at=at(30, 12, month=10)),
            change(2, "normal", at(2), pr_repo="acme/api",
                   pr_info={"first_commit_at": "2026-11-01T15:00:00+00:00"},
                   deployed_at=at(3, 15)),
            change(3, "standard", at(5, 10), deployed_at=at(5, 14)),  # no PR, from Slack
            change(4, "normal", at(9), pr_repo="acme/api", status="rolled_back",
                   pr_info={"first_commit_at": "2026-11-08T09:00:00+00:00"},
                   deployed_at=at(10), rollback_started_at=at(10, 9, 40),
                   rollback_finished_at=at(10, 10)),
            change(5, "high_risk", at(12), pr_repo="acme/web", deployed_at=at(16)),
            change(6, "emergency", at(17, 10), pr_repo="acme/web", deployed_at=at(17, 10, 30),
                   fixes_change_id=5),
            change(7, "normal", at(25), status="approved"),  # never deployed
        ])
        await session.flush()
        session.add_all([
            github(at(16), 5, "acme/web"),  # the deployment Changebot recorded
            github(at(17), 5, "acme/web"),  # deployed again: this one failed
            github(at(17, 10, 30), 6, "acme/web"),
            github(at(20, 12), None, "acme/web"),  # matched no change
        ])
