"""Bring the schema up to date with Alembic, from the app (serve/socket) or `changebot migrate`."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do; it only has to be the same in every replica.
_ADVISORY_LOCK = 0x0C4A6E


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


async def migrate(db: Database, revision: str = "head") -> None:
    """Upgrade in one transaction; on PostgreSQL under an advisory lock so replicas queue."""

    def upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        config.attributes["audit_key"] = db.audit_key  # 0005 seals its snapshots with it
        command.upgrade(config, revision)

    async with db.unbounded() as engine, engine.begin() as conn:
        await conn.run_sync(upgrade)


def head_revision() -> str | None:
    """The revision `migrate` brings a database to."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(db: Database) -> str | None:
    """The database's schema revision; None when it has no Changebot schema at all."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)
