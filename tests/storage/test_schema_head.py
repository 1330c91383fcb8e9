"""The schema head that start-up compares with (storage.db.SCHEMA_HEAD, read without
Alembic) is Alembic's own; a new database and one a revision behind are migrated to it."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.db import SCHEMA_HEAD, Database, schema_revision, up_to_date
from storage.migrate import head_revision, migrate


def test_the_head_start_up_compares_with_is_alembics() -> None:
    assert head_revision() == SCHEMA_HEAD, (
        "a migration was added: set storage.db.SCHEMA_HEAD to its revision")


async def test_a_new_database_and_one_a_revision_behind_are_brought_to_the_head(database_url):
    db = Database(database_url)
    try:
        assert await schema_revision(db) is None
        await migrate(db, "0012_gates_check_runs")
        assert await schema_revision(db) == "0012_gates_check_runs"
        await up_to_date(db)
        assert await schema_revision(db) == SCHEMA_HEAD
        async with db.engine.connect() as conn:  # 0013 ran: its index is there
            indexes = await conn.run_sync(
                lambda c: {i["name"] for i in inspect(c).get_indexes("changes")})
        assert "ix_changes_planned_at" in indexes
        await up_to_date(db)  # at the head: nothing to do
        assert await schema_revision(db) == SCHEMA_HEAD
    finally:
        await db.dispose()
