"""How fast the evidence export streams, and that its memory does not grow with the period.

    python bench/evidence_export.py                  # 10,000 changes in a temporary SQLite
    python bench/evidence_export.py --changes 2000
    python bench/evidence_export.py --url postgresql+asyncpg://postgres@127.0.0.1/bench

Builds a quarter of changes (each with approvals, a chained audit trail of six events,
a GitHub deployment for one in three), then exports the quarter in each format to a
temporary file: once timed (rows/s), once under tracemalloc (peak memory). The peak is
also measured for a tenth of the changes: streaming means the two peaks are close.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bot.evidence.export import export
from bot.evidence.period import parse_period
from bot.playground.standin.workspace import demo_policy
from storage import audit_chain  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from storage.models import Approval, AuditEvent, Change, Deployment  # noqa: E402

START = datetime(2026, 1, 1, 9, tzinfo=UTC)
QUARTER = ("2026-01-01", "2026-03-31")
PEOPLE = ["U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"]


def ci_detail(i: int, state: str) -> dict:
    """As bot.pull_requests.apply_ci records it."""
    check = {"name": "unit-tests", "state": state, "url": f"https://ci.example.com/{i}"}
    failing = [{"name": check["name"], "url": check["url"]}] if state == "failure" else []
    return {"sha": f"{i:040x}", "checks": [check], "failing": failing, "pending": []}


def change_rows(n: int) -> list[dict]:
    rows = []
    for i in range(1, n + 1):
        created = START + timedelta(minutes=12 * i)  # 10,000 changes fill the quarter
        deployed = created + timedelta(hours=3)
        rows.append({
            "id": i, "title": f"Change {i}: tune the cache of service {i % 37}",
            "description": "Lower the TTL so that stale prices expire sooner.\n" * 3,
            "category": ("normal", "standard", "high_risk", "emergency")[i % 4],
            "risk": ("low", "medium", "high")[i % 3], "rollback_plan": "Revert the config.",
            "testing": "Load test at 2x peak in staging.", "security_notes": "",
            "security_checkboxes": [], "pr_url": f"https://github.com/acme/api/pull/{i}",
            "reviewers": PEOPLE[1:3], "impact": "", "involved": [],
            "author_id": PEOPLE[i % 5], "status": "completed" if i % 9 else "rolled_back",
            "revision": 1, "created_at": created, "updated_at": deployed,
            "closed_at": deployed + timedelta(hours=1), "source_key": None,
            "security_required": i % 4 == 2,
            "security_triggers": [{"source": "category", "reason": "high-risk change"}]
            if i % 4 == 2 else [],
            "pr_repo": "acme/api", "pr_number": i, "pr_info": {}, "head_sha": f"{i:040x}",
            "ci_state": "success" if i % 11 else "failure",
            "ci_detail": ci_detail(i, "success" if i % 11 else "failure"),
            "staging_deployed_at": created + timedelta(hours=1),
            "staging_verified_at": created + timedelta(hours=2),
            "staging_validation": {"checks": ["functional"], "notes": "ok", "by": "U0ALICE"},
            "deployed_at": deployed, "deployed_by": PEOPLE[i % 5], "deploy_method": "rolling",
            "deploy_exceptions": [], "monitoring_ends_at": deployed + timedelta(minutes=30),
            "verified_at": deployed + timedelta(minutes=40) if i % 9 else None,
            "verification": {"checks": ["logs", "metrics"], "notes": "flat", "by": "U0ALICE"},
            "rollback_started_at": deployed + timedelta(minutes=10) if not i % 9 else None,
            "rollback_finished_at": deployed + timedelta(minutes=20) if not i % 9 else None,
            "rollback": {"trigger": "errors", "method": "revert"} if not i % 9 else {},
            "retrospective_due_at": deployed + timedelta(hours=24) if i % 4 == 3 else None,
            "retrospective_done_at": deployed + timedelta(hours=20) if i % 4 == 3 else None,
            "retrospective": {"link": "https://wiki.example.com/r"} if i % 4 == 3 else {},
        })
    return rows


def related_rows(changes: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    approvals, events, deployments = [], [], []
    previous = audit_chain.GENESIS
    for change in changes:
        i, created = change["id"], change["created_at"]
        reviewers = [p for p in PEOPLE if p != change["author_id"]][:2]
        for n, reviewer in enumerate(reviewers):
            approvals.append({
                "change_id": i, "revision": 1, "kind": "peer", "decision": "approved",
                "actor": reviewer, "user_id": reviewer, "source": "slack",
                "tech_lead": reviewer == "U0DAVE", "reason": "",
                "created_at": created + timedelta(minutes=10 * (n + 1)),
            })
        for n, action in enumerate(["proposed", "approval_given", "approval_given",
                                    "staging_verified", "deployed", "verified"]):
            event = AuditEvent(change_id=i, at=created + timedelta(minutes=30 * n),
                               actor=change["author_id"], action=action,
                               detail={"revision": 1}, prev_hash=previous)
            event.hash = audit_chain.hash_of(event)
            previous = event.hash
            events.append({"change_id": i, "at": event.at, "actor": event.actor,
                           "action": action, "detail": event.detail,
                           "prev_hash": event.prev_hash, "hash": event.hash})
        if i % 3 == 0:
            deployments.append({"github_deployment_id": i, "repo": "acme/api",
                                "environment": "production", "sha": change["head_sha"],
                                "creator": "bot", "change_id": i, "at": change["deployed_at"]})
    return approvals, events, deployments


async def build(db: Database, n: int) -> None:
    await migrate(db)
    changes = change_rows(n)
    approvals, events, deployments = related_rows(changes)
    async with db.engine.begin() as conn:
        for model, rows in ((Change, changes), (Approval, approvals), (AuditEvent, events),
                            (Deployment, deployments)):
            for start in range(0, len(rows), 2000):
                await conn.execute(insert(model), rows[start:start + 2000])


async def run(db: Database, fmt: str, period) -> tuple[int, float, int]:
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as out:
        started = time.perf_counter()
        pack = await export(db, demo_policy(), period, fmt, out,
                            now=datetime(2026, 4, 2, tzinfo=UTC))
        elapsed = time.perf_counter() - started
        size = out.tell()
    return pack.summary.changes, elapsed, size


async def peak(db: Database, fmt: str, period) -> int:
    tracemalloc.start()
    try:
        await run(db, fmt, period)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--url", help="an empty database to fill (default: temporary SQLite)")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="changebot-bench-")
    url = args.url or f"sqlite+aiosqlite:///{os.path.join(directory, 'bench.db')}"
    db = Database(url)
    try:
        started = time.perf_counter()
        await build(db, args.changes)
        print(f"built {args.changes} changes in {time.perf_counter() - started:.1f} s ({url})")
        quarter = parse_period(*QUARTER)
        tenth = parse_period("2026-01-01", "2026-01-09")
        for fmt in ("md", "csv", "json"):
            changes, elapsed, size = await run(db, fmt, quarter)
            small = await peak(db, fmt, tenth)
            full = await peak(db, fmt, quarter)
            print(f"{fmt:>4}: {changes} changes in {elapsed:.2f} s = {changes / elapsed:,.0f} "
                  f"rows/s, {size / 1e6:.1f} MB written; peak memory {full / 1e6:.1f} MB "
                  f"(a tenth of the period: {small / 1e6:.1f} MB)")
    finally:
        await db.dispose()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
