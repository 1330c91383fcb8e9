"""The tables at their edges: enums in and out as short strings, JSON records checked
against their shapes, ids there once a row is flushed."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlmodel import select

from bot.change.states import CLOSED, Category, Risk, Status
from storage import repo
from storage.models import Change
from storage.shapes import Rollback

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def a_change(**fields: object) -> Change:
    values: dict[str, object] = dict(
        title="Add index", description="Speeds up the report", category=Category.high_risk,
        risk=Risk.medium, rollback_plan="Drop it", author_id="U0ALICE",
        status=Status.in_review, created_at=NOW, updated_at=NOW,
    )
    return Change(**(values | fields))


async def test_status_category_and_risk_are_enums_in_python_and_short_strings_in_sql(db):
    async with db.session() as session:
        change = a_change()
        session.add(change)
        await session.flush()
        change_id = change.id
    assert isinstance(change_id, int)

    async with db.session() as session:
        raw = (await session.exec(text(  # type: ignore[call-overload]
            "SELECT status, category, risk FROM changes WHERE id = :id"
        ).bindparams(id=change_id))).one()
        assert tuple(raw) == ("in_review", "high_risk", "medium")
        found = (await session.exec(select(Change).where(Change.id == change_id))).one()
        assert (found.status, found.category, found.risk) == (
            Status.in_review, Category.high_risk, Risk.medium)
        assert type(found.status) is Status and type(found.category) is Category
        assert found.category.label == "High-risk"
        # A query written with the enum finds it; one with the stored string too.
        assert [c.id for c in await repo.open_changes(session)] == [change_id]


async def test_a_status_the_lifecycle_does_not_know_is_refused_before_it_is_written(db):
    with pytest.raises(StatementError, match="'shipped' is not a valid Status"):
        async with db.session() as session:
            session.add(a_change(status="shipped"))
            await session.flush()
    async with db.session() as session:
        assert (await session.exec(select(Change))).all() == []


async def test_a_json_record_of_the_wrong_shape_is_refused_and_nothing_is_written(db):
    async with db.session() as session:
        change = a_change(status=Status.monitoring)
        session.add(change)
        await session.flush()
        change_id = change.id

    with pytest.raises(StatementError) as refused:
        async with db.session() as session:
            found = await repo.get_change(session, change_id)
            assert found is not None
            found.rollback = {"trigger": "errors", "metod": "revert", "by": "U0ALICE"}
            found.status = Status.rolled_back
    assert isinstance(refused.value.orig, ValidationError)
    assert "metod" in str(refused.value.orig)

    async with db.session() as session:
        found = await repo.get_change(session, change_id)
        assert found is not None
        assert found.status is Status.monitoring and found.rollback == {}
        found.rollback = {"trigger": "errors", "method": "revert", "by": "U0ALICE"}
    async with db.session() as session:
        found = await repo.get_change(session, change_id)
        assert found is not None
        assert Rollback.of(found.rollback).method == "revert"


def test_open_changes_leave_out_the_closed_ones_and_the_completed():
    # Completed may still be rolled back (so it is not CLOSED), but it is not open work.
    assert frozenset(repo.CLOSED_STATUSES) == CLOSED | {Status.completed}


def test_the_open_changes_index_spells_the_closed_statuses_of_the_queries():
    from storage.models import OPEN_SQL
    from storage.repo import CLOSED_STATUSES

    listed = ", ".join(f"'{status}'" for status in CLOSED_STATUSES)
    assert f"status NOT IN ({listed})" == OPEN_SQL
