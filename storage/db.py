"""The database: one async engine per process, one session per unit of work."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

_READ_ONLY = "changebot_read_only"


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
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
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
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
