"""How long DORA's metrics, the /metrics snapshot and the weekly chart take on a big history.

    python bench/dora_metrics.py                  # 20,000 changes in a temporary SQLite
    python bench/dora_metrics.py --changes 5000
    python bench/dora_metrics.py --url postgresql+asyncpg://postgres@127.0.0.1/bench

Builds a year of changes (each deployed; one in three also reported by GitHub, one in
twenty deployed again, one in fifteen rolled back, one in twenty-five an emergency fixing
the change before it), then times: the last quarter's report with its trend (what
`changebot metrics` does), the gauges' snapshot of the whole history (what a scrape
refreshes at most every 30 s), and the chart of the last 90 days.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bot.insights import chart, report  # noqa: E402
from bot.insights.dora import Span  # noqa: E402
from bot.insights.gauges import take  # noqa: E402
from bot.insights.records import load_history  # noqa: E402
from bot.playground.standin.workspace import demo_policy  # noqa: E402
from bot.runtime.clock import ManualClock  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from storage.models import Change, Deployment  # noqa: E402

START = datetime(2026, 1, 1, 9, tzinfo=UTC)
END = START + timedelta(days=365)


def change_rows(n: int) -> list[dict]:
    step = (END - START) / n
    rows = []
    for i in range(1, n + 1):
        proposed = START + step * (i - 1)
        deployed = proposed + timedelta(hours=2 + i % 70)
        emergency = i % 25 == 0 and i > 1
        rolled_back = i % 15 == 0
        rows.append(dict(
            id=i, title=f"Change {i}", description="d", category=(
                "emergency" if emergency else ("normal", "standard", "high_risk")[i % 3]),
            risk="low", rollback_plan="revert", author_id="U0ALICE",
            status="rolled_back" if rolled_back else "completed",
            created_at=proposed, updated_at=deployed, deployed_at=deployed,
            pr_repo=f"acme/service-{i % 7}",
            pr_info={"first_commit_at": (proposed - timedelta(hours=5)).isoformat()},
            rollback_started_at=deployed + timedelta(minutes=20) if rolled_back else None,
            rollback_finished_at=deployed + timedelta(minutes=45) if rolled_back else None,
            fixes_change_id=i - 1 if emergency else None,
            security_checkboxes=[], reviewers=[], involved=[], security_triggers=[],
            ci_detail={}, staging_validation={}, verification={}, rollback={},
            deploy_exceptions=[], retrospective={},
        ))
    return rows


def deployment_rows(changes: list[dict]) -> list[dict]:
    rows, github_id = [], 1
    for c in changes:
        if c["id"] % 3 == 0:
            rows.append(dict(github_deployment_id=github_id, repo=c["pr_repo"],
                             environment="production", sha=f"{c['id']:040x}",
                             change_id=c["id"], at=c["deployed_at"]))
            github_id += 1
        if c["id"] % 20 == 0:
            rows.append(dict(github_deployment_id=github_id, repo=c["pr_repo"],
                             environment="production", sha=f"{c['id']:039x}1",
                             change_id=c["id"], at=c["deployed_at"] + timedelta(hours=1)))
            github_id += 1
    return rows


async def timed(label: str, work):
    started = time.perf_counter()
    result = await work
    print(f"{label:<52} {time.perf_counter() - started:8.3f} s")
    return result


async def main(n: int, url: str | None) -> None:
    folder = tempfile.mkdtemp(prefix="changebot-bench-")
    db = Database(url or f"sqlite+aiosqlite:///{folder}/bench.db")
    try:
        await migrate(db)
        changes = change_rows(n)
        async with db.session() as session:
            for i in range(0, n, 2000):
                await session.exec(insert(Change), params=changes[i:i + 2000])
            deployments = deployment_rows(changes)
            await session.exec(insert(Deployment), params=deployments)
        print(f"{n} changes, {len(deployments)} GitHub deployments, over 2026")

        quarter = Span(END - timedelta(days=91), END, "the last quarter")

        async def quarter_report():
            async with db.snapshot() as session:
                history = await load_history(session, Span(quarter.previous().start, END))
            return history, report.build(history, quarter, "repo")

        history, built = await timed("changebot metrics: last quarter, by repo, with trend",
                                     quarter_report())
        print(f"  {len(history.changes)} changes read, {len(built.rows)} rows")

        class Ctx:  # what `take` reads of the context
            clock = ManualClock(END)
            policy = demo_policy()

        async def snapshot():
            async with db.snapshot() as session:
                return await take(session, Ctx)  # type: ignore[arg-type]

        snap = await timed("/metrics snapshot of the whole history", snapshot())
        print(f"  {sum(snap.deployments.values())} deployments, "
              f"{len(snap.lead_times)} lead times")
        last_90 = Span(END - timedelta(days=90), END)
        png = await timed("weekly chart of the last 90 days (PNG)", asyncio.to_thread(
            chart.weekly_png, history, last_90, "bench"))
        print(f"  {len(png):,} bytes")
    finally:
        await db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    asyncio.run(main(args.changes, args.url))
