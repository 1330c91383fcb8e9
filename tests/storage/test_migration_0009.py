"""Migration 0009 on a database with rows: the new columns get their defaults, and the
rows are chained again so that `changebot audit verify` still finds them as recorded."""

import json
from datetime import UTC, datetime

from sqlalchemy import bindparam, text

from bot.evidence.verification import verify
from storage.db import Database
from storage.migrate import migrate
from storage.models import Approval, Change, UTCDateTime

# A change as the bot wrote it at 0008; later revisions add `extra` columns.
_CHANGE = (
    "INSERT INTO changes (id, title, description, category, risk, rollback_plan, testing, "
    "security_notes, security_checkboxes, reviewers, impact, involved, author_id, status, "
    "revision, created_at, updated_at, security_required, security_triggers, pr_info, "
    "ci_state, ci_detail, staging_validation, deploy_exceptions, verification, rollback, "
    "retrospective{columns}) VALUES (1, 't', 'd', 'normal', 'low', 'r', '', '', '[]', '[]', "
    "'', '[]', 'U0ALICE', 'in_review', 1, :at, :at, false, '[]', '{{}}', 'none', '{{}}', "
    "'{{}}', '[]', '{{}}', '{{}}', '{{}}'{values})")


async def insert_change(conn, at: datetime, **extra: str) -> None:
    """Change 1 written in raw SQL, as the bot wrote it before a revision (`extra`: the
    columns a later revision added, as SQL literals)."""
    sql = _CHANGE.format(columns="".join(f", {c}" for c in extra),
                         values="".join(f", {v}" for v in extra.values()))
    await conn.execute(text(sql).bindparams(bindparam("at", type_=UTCDateTime())), {"at": at})


async def test_rows_written_before_0009_still_verify_after_it(database_url):
    db = Database(database_url)
    try:
        await migrate(db, "0008_github_gates")
        at = datetime(2026, 11, 25, 10, tzinfo=UTC)
        moment = bindparam("at", type_=UTCDateTime())
        async with db.engine.begin() as conn:  # as the bot wrote them before this revision
            await insert_change(conn, at)
            await conn.execute(text(
                "INSERT INTO approvals (id, change_id, revision, kind, decision, actor, "
                "source, tech_lead, reason, created_at) VALUES (1, 1, 1, 'peer', "
                "'approved', 'U0BOB', 'slack', false, '', :at)").bindparams(moment), {"at": at})
        await migrate(db, "0009_roles_and_watch")  # 0005 chained them; 0009 adds columns
        async with db.engine.connect() as conn:  # read as of 0009, not through today's model
            watch = (await conn.execute(text("SELECT watch FROM changes"))).scalar_one()
            infra = (await conn.execute(text("SELECT infrastructure FROM approvals"))
                     ).scalar_one()
            details = (await conn.execute(text(
                "SELECT detail FROM audit_events WHERE action = 'row_snapshot' ORDER BY id"))
            ).scalars().all()
        assert (json.loads(watch) if isinstance(watch, str) else watch) == {}
        assert infra in (False, 0)
        chained = [json.loads(d) if isinstance(d, str) else d for d in details]
        last = [d for d in chained if d["table"] == "changes" and d["id"] == 1][-1]
        assert last["row"]["watch"] == {}, "0009 chained the change again with its watch"

        await migrate(db)  # and the later revisions, which read the rows through the models
        async with db.session() as session:
            change = await session.get(Change, 1)
            approval = await session.get(Approval, 1)
        assert change is not None and change.watch == {} and change.service is None
        assert approval is not None and approval.infrastructure is False
        report = await verify(db, key=None)
        assert report.rows is not None and report.rows.problems == []
    finally:
        await db.dispose()
