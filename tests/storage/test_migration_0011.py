"""Migration 0011 on a database with rows: changes get an empty service, and are chained
again so that `changebot audit verify` still finds them as recorded."""

from datetime import UTC, datetime

from sqlalchemy import bindparam, text

from bot.evidence.verification import verify
from storage.db import Database
from storage.migrate import migrate
from storage.models import Change, UTCDateTime


async def test_changes_written_before_0011_still_verify_after_it(database_url):
    db = Database(database_url)
    try:
        await migrate(db, "0010_fast_at_scale")
        moment = bindparam("at", type_=UTCDateTime())
        async with db.engine.begin() as conn:  # as the bot wrote it before this revision
            await conn.execute(text(
                "INSERT INTO changes (id, title, description, category, risk, rollback_plan, "
                "testing, security_notes, security_checkboxes, reviewers, impact, involved, "
                "author_id, status, revision, created_at, updated_at, security_required, "
                "security_triggers, pr_info, ci_state, ci_detail, staging_validation, "
                "deploy_exceptions, verification, rollback, retrospective, watch) VALUES (1, "
                "'t', 'd', 'normal', 'low', 'r', '', '', '[]', '[]', '', '[]', 'U0ALICE', "
                "'in_review', 1, :at, :at, false, '[]', '{}', 'none', '{}', '{}', '[]', '{}', "
                "'{}', '{}', '{}')").bindparams(moment),
                {"at": datetime(2026, 11, 25, 10, tzinfo=UTC)})
        await migrate(db)
        async with db.session() as session:
            change = await session.get(Change, 1)
        assert change is not None and change.service is None
        report = await verify(db, key=None)
        assert report.rows is not None and report.rows.problems == []
    finally:
        await db.dispose()
