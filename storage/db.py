"""The database: one async engine per process, one session per unit of work."""

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit_chain import KEY_INFO
from storage.audit_rows import RowChain

_READ_ONLY = "changebot_read_only"


def _system_now() -> datetime:
    return datetime.now(UTC)


class Database:
    """`audit_key` (CHANGEBOT_AUDIT_KEY) seals the audit chain's events with an HMAC;
    `now` dates the row snapshots the sessions chain (storage.audit_rows): the bot's clock."""

    def __init__(self, url: str, *, echo: bool = False, audit_key: bytes | None = None,
                 now: Callable[[], datetime] = _system_now) -> None:
        self.url = url
        self.audit_key = audit_key
        self.is_sqlite = url.startswith("sqlite")
        options: dict = {"echo": echo}
        if self.is_sqlite:
            # A file database shared by tasks: wait for the lock instead of failing at once.
            options["connect_args"] = {"timeout": 30}
        else:
            options["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
        # A session class of this database's own, so that its hook is this database's.
        chained_session = type("ChainedSession", (Session,), {})
        RowChain(audit_key, now).register(chained_session)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False,
            sync_session_class=chained_session, info={KEY_INFO: audit_key},
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only session that sees one consistent state of the database throughout,
        without holding writers back (exports, audit verification)."""
        options: dict[str, Any]
        if self.is_sqlite:
            options = {_READ_ONLY: True}  # a deferred BEGIN: WAL gives readers a snapshot
        else:
            options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        async with self._sessions() as session:
            # Closing the session ends the transaction (nothing to commit) and leaves the
            # objects read loaded, unlike a rollback which would expire them.
            await session.connection(execution_options=options)
            yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


async def schema_problem(url: str) -> str | None:
    """Why the database at `url` cannot be read as Changebot's (missing, unreachable, not
    migrated), in one line; None when it can. Creates nothing (a command that only reads
    must not leave an empty SQLite file behind)."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from storage.migrate import alembic_config

    missing = _missing_file(url)
    if missing:
        return f"no database at {missing} (DATABASE_URL): nothing to verify"
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            version = None
            if "alembic_version" in tables:
                version = (await conn.execute(text("SELECT version_num FROM alembic_version"))
                           ).scalar()
    except Exception as exc:  # unreachable, refused, not a database: said in one line
        return f"cannot open the database (DATABASE_URL): {str(exc).splitlines()[0]}"
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if "audit_events" not in tables or version is None:
        return "the database has no Changebot schema: run `changebot migrate` first"
    if version != head:
        return (f"the database schema is at {version}, not {head}: run `changebot migrate` "
                "first")
    return None


def _missing_file(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    path = parsed.database
    if parsed.drivername.startswith("sqlite") and path and path != ":memory:":
        return None if os.path.exists(path) else path
    return None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy emit BEGIN itself (below) instead of the driver's deferred BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    """Take the write lock when a transaction starts: a read-then-write transaction then
    waits for another writer instead of failing on a stale snapshot. (This lock is also
    what serialises audit-chain appends on SQLite.) Read-only snapshots start deferred."""
    if connection.get_execution_options().get(_READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
