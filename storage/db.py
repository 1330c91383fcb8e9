"""The database: one async engine per process, one session per unit of work."""

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit_chain import KEY_INFO
from storage.audit_rows import RowChain

_READ_ONLY = "changebot_read_only"
_LOCK_WAIT = "changebot_lock_wait_ms"  # SQLite: how long BEGIN IMMEDIATE waits for the lock
_PATIENT_LOCK_WAIT_MS = 30_000

# Set while a person waits for the bot's answer (a Slack request, and the work it started):
# getting the database — a connection, its first answer, SQLite's write lock — may then take
# `answer_timeout` at most, so that they are told it cannot be reached instead of waiting
# past Slack's 3 seconds for nothing. Work nobody waits on (sweeps, exports) stays patient.
_ANSWER_DUE: ContextVar[bool] = ContextVar("changebot_answer_due", default=False)


def answer_due(due: bool = True) -> None:
    """Mark the current task (and the tasks it starts from now on) as answering a person."""
    _ANSWER_DUE.set(due)


class DatabaseUnreachable(TimeoutError):
    """The database did not let us in within the answer timeout (hanging, or locked)."""


def _system_now() -> datetime:
    return datetime.now(UTC)


class Database:
    """`audit_key` (CHANGEBOT_AUDIT_KEY) seals the audit chain's events with an HMAC;
    `now` dates the row snapshots the sessions chain (storage.audit_rows): the bot's clock.
    Timeouts, in seconds: `connect_timeout` to open a PostgreSQL connection,
    `command_timeout` for one statement (None: unbounded; migrations never are), and
    `answer_timeout` to get the database while a person waits (see `answer_due`)."""

    def __init__(self, url: str, *, echo: bool = False, audit_key: bytes | None = None,
                 now: Callable[[], datetime] = _system_now, connect_timeout: float = 10.0,
                 command_timeout: float | None = None, answer_timeout: float = 2.0) -> None:
        self.url = url
        self.audit_key = audit_key
        self.is_sqlite = url.startswith("sqlite")
        self.echo = echo
        self.connect_timeout = connect_timeout
        self.answer_timeout = answer_timeout
        self.command_timeout = command_timeout
        self.engine: AsyncEngine = self._engine(command_timeout)
        # A session class of this database's own, so that its hook is this database's.
        chained_session = type("ChainedSession", (Session,), {})
        RowChain(audit_key, now).register(chained_session)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False,
            sync_session_class=chained_session, info={KEY_INFO: audit_key},
        )

    def _engine(self, command_timeout: float | None) -> AsyncEngine:
        options: dict = {"echo": self.echo}
        if self.is_sqlite:
            # A file database shared by tasks: wait for the lock instead of failing at once.
            options["connect_args"] = {"timeout": _PATIENT_LOCK_WAIT_MS / 1000}
        else:
            options["pool_pre_ping"] = True
            options["connect_args"] = {"timeout": self.connect_timeout,
                                       "command_timeout": command_timeout}
        engine = create_async_engine(self.url, **options)
        if self.is_sqlite:
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine

    @asynccontextmanager
    async def unbounded(self) -> AsyncIterator[AsyncEngine]:
        """An engine whose statements may run as long as they need (a migration waits for
        another replica's): this one's when its statements are not bounded anyway."""
        if self.is_sqlite or self.command_timeout is None:
            yield self.engine
            return
        engine = self._engine(None)
        try:
            yield engine
        finally:
            await engine.dispose()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on error."""
        async with self._sessions() as session, session.begin():
            if _ANSWER_DUE.get():
                await self._connect(session, {})
            yield session

    async def _connect(self, session: AsyncSession, options: dict[str, Any]) -> None:
        """Begin the session's transaction on a connection with `options`; while a person
        waits, within the answer timeout (a free pooled connection, connecting, the first
        answer, SQLite's write lock), or DatabaseUnreachable."""
        if not _ANSWER_DUE.get():
            await session.connection(execution_options=options)
            return
        if self.is_sqlite:
            options = {**options, _LOCK_WAIT: self._lock_wait_ms()}
        try:
            async with asyncio.timeout(self.answer_timeout):
                await session.connection(execution_options=options)
        except TimeoutError:
            raise DatabaseUnreachable(
                f"the database did not answer within {self.answer_timeout:g} s") from None

    def _lock_wait_ms(self) -> int:
        # A little less than the answer timeout: SQLite's own error comes first.
        return max(int(self.answer_timeout * 900), 1)

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
            await self._connect(session, options)
            yield session

    async def ping(self) -> bool:
        """Whether the database answers, within the answer timeout."""
        try:
            async with asyncio.timeout(self.answer_timeout), self.engine.connect() as conn:
                if self.is_sqlite:  # a lock held for longer is down too, for a writer
                    await conn.execution_options(**{_LOCK_WAIT: self._lock_wait_ms()})
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


# The newest migration of storage/migrations/versions (tests/storage/test_schema_head.py
# holds it to Alembic's head): a database already there is seen to be up to date with one
# read, without importing Alembic, which costs start-up a tenth of a second.
SCHEMA_HEAD = "0013_flat_calendar_index"


async def schema_revision(db: Database) -> str | None:
    """The revision the database's schema is at; None when it has none (or cannot say)."""
    try:
        async with db.engine.connect() as conn:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))
                    ).scalar()
    except DBAPIError:  # no alembic_version: a new database
        return None


async def up_to_date(db: Database) -> None:
    """Bring the schema to SCHEMA_HEAD (storage.migrate) unless it is there already."""
    if await schema_revision(db) == SCHEMA_HEAD:
        return
    from storage.migrate import migrate

    await migrate(db)


async def schema_problem(url: str) -> str | None:
    """Why the database at `url` cannot be read as Changebot's (missing, unreachable, not
    migrated), in one line; None when it can. Creates nothing (a command that only reads
    must not leave an empty SQLite file behind)."""
    from sqlalchemy import inspect

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
    if "audit_events" not in tables or version is None:
        return "the database has no Changebot schema: run `changebot migrate` first"
    if version != SCHEMA_HEAD:
        return (f"the database schema is at {version}, not {SCHEMA_HEAD}: run `changebot "
                "migrate` first")
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
    cursor.execute(f"PRAGMA busy_timeout={_PATIENT_LOCK_WAIT_MS}")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    """Take the write lock when a transaction starts: a read-then-write transaction then
    waits for another writer instead of failing on a stale snapshot. (This lock is also
    what serialises audit-chain appends on SQLite.) Read-only snapshots start deferred.
    A person waiting for an answer waits less for the lock (`_LOCK_WAIT`)."""
    options = connection.get_execution_options()
    wait = options.get(_LOCK_WAIT, _PATIENT_LOCK_WAIT_MS)
    if connection.info.get(_LOCK_WAIT, _PATIENT_LOCK_WAIT_MS) != wait:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(wait)}")
        connection.info[_LOCK_WAIT] = wait
    if options.get(_READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
