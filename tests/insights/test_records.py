"""Reading what DORA's metrics need from the database: the right records, few queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from bot.insights import dora
from bot.insights.dora import Span
from bot.insights.records import load_history
from storage.models import Deployment
from tests.insights.seed import at, change, seed_month

NOVEMBER = Span(at(1, 0), at(1, 0, month=12))


async def test_the_seeded_month_read_from_the_database_gives_the_hand_computed_figures(db):
    await seed_month(db)
    async with db.snapshot() as session:
        history = await load_history(session, NOVEMBER)

    # CHG-1 (deployed in October) and CHG-7 (never deployed) are not read.
    assert sorted(history.changes) == [2, 3, 4, 5, 6]
    assert history.changes[6].fixes_change_id == 5
    assert history.changes[2].first_commit_at == at(1, 15)
    # CHG-5's Slack record and its first GitHub deployment are one deployment.
    assert [d.at for d in history.by_change[5]] == [at(16), at(17)]

    figures = dora.measure(history, NOVEMBER)
    assert figures.deployments == 7
    assert figures.lead_time == timedelta(hours=48)
    assert figures.change_fail_rate == pytest.approx(2 / 7)
    assert figures.recovery_time == timedelta(minutes=75)
    assert figures.rework_rate == pytest.approx(1 / 7)


async def test_an_emergency_deployed_after_the_period_still_ends_the_failure_in_it(db):
    async with db.session() as session:
        session.add(change(1, "normal", at(30, 20), deployed_at=at(30, 22)))
        await session.flush()
        session.add(change(2, "emergency", at(30, 23), deployed_at=at(1, 1, month=12),
                           fixes_change_id=1))
    async with db.snapshot() as session:
        history = await load_history(session, NOVEMBER)
    figures = dora.measure(history, NOVEMBER)
    assert figures.deployments == 1 and figures.rework == 0
    assert figures.recoveries == (timedelta(hours=3),)


async def test_the_reads_take_two_queries_however_many_changes(db):
    async with db.session() as session:
        for n in range(1, 61):
            session.add(change(n, "normal", at(2), deployed_at=at(3, 10, n % 60)))
        await session.flush()
        for n in range(1, 61):
            session.add(Deployment(github_deployment_id=n, repo="acme/api",
                                   environment="production", sha=f"s{n}", change_id=n,
                                   at=at(4, 10, n % 60)))
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.snapshot() as session:
            history = await load_history(session, NOVEMBER)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert len(history.changes) == 60 and len(history.deployments) == 120
    assert len(statements) == 2


async def test_a_first_commit_time_that_cannot_be_read_falls_back_to_the_proposal(db):
    async with db.session() as session:
        session.add_all([
            change(1, "normal", at(2), pr_info={"first_commit_at": "yesterday"},
                   deployed_at=at(3)),
            change(2, "normal", at(2), pr_info={"first_commit_at": "2026-11-01T09:00:00"},
                   deployed_at=at(3)),
        ])
    async with db.snapshot() as session:
        history = await load_history(session, NOVEMBER)
    assert history.changes[1].first_commit_at is None
    assert history.changes[2].first_commit_at is None  # no time zone: not trusted
    assert dora.measure(history, NOVEMBER).lead_times == (timedelta(days=1),) * 2
