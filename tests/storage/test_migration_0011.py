"""Migration 0011 on a database with rows: changes get an empty service, and are chained
again so that `changebot audit verify` still finds them as recorded."""

from datetime import UTC, datetime

from bot.evidence.verification import verify
from storage.db import Database
from storage.migrate import migrate
from storage.models import Change
from tests.storage.test_migration_0009 import insert_change


async def test_changes_written_before_0011_still_verify_after_it(database_url):
    db = Database(database_url)
    try:
        await migrate(db, "0010_fast_at_scale")
        async with db.engine.begin() as conn:  # as the bot wrote it before this revision
            await insert_change(conn, datetime(2026, 11, 25, 10, tzinfo=UTC), watch="'{}'")
        await migrate(db)
        async with db.session() as session:
            change = await session.get(Change, 1)
        assert change is not None and change.service is None
        report = await verify(db, key=None)
        assert report.rows is not None and report.rows.problems == []
    finally:
        await db.dispose()
