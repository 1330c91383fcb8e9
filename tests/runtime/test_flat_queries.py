"""Lists stay flat: the queries behind /change list and App Home do not grow with the number
of open changes (no query per change), and use the partial index of open changes."""

from contextlib import contextmanager

from sqlalchemy import event, text
from sqlmodel import select

from bot.overview import queries
from bot.overview.desk_items import desk_of
from storage import repo
from storage.models import Change
from tests.flows import approved, propose


@contextmanager
def statements(db):
    """The SQL statements the database runs meanwhile (observed, not intercepted)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_list_and_home_run_as_many_queries_for_four_changes_as_for_one(bot):
    await approved(bot)
    with statements(bot.ctx.db) as one:
        assert (await queries.open_changes(bot.ctx, "U0ALICE")).total == 1
        await desk_of(bot.ctx, "U0BOB")
    await approved(bot)
    await propose(bot)
    await propose(bot)
    with statements(bot.ctx.db) as four:
        assert (await queries.open_changes(bot.ctx, "U0ALICE")).total == 4
        await desk_of(bot.ctx, "U0BOB")
    assert len(four) == len(one), four


async def test_the_open_changes_query_uses_the_partial_index(bot):
    async with bot.ctx.db.session() as session:
        compiled = select(Change).where(text(repo.OPEN_SQL))
        sql = str(compiled.compile(bot.ctx.db.engine.sync_engine))
        if bot.ctx.db.is_sqlite:
            plan = (await session.exec(text("EXPLAIN QUERY PLAN " + sql))).all()
            assert any("ix_changes_open" in str(row) for row in plan), plan
        else:  # a tiny table is read whole; so forbid the scan to see the index fits
            await session.exec(text("SET LOCAL enable_seqscan = off"))
            plan = (await session.exec(text("EXPLAIN " + sql))).all()
            assert any("ix_changes_open" in str(row) for row in plan), plan
