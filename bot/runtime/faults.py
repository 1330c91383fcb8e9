"""Which failures mean the database cannot be reached (said to the person as such), as
opposed to a bug of ours or a fault of Slack or GitHub."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from storage.db import DatabaseUnreachable

# Where a plain OSError (a refused or timed-out connection) comes from the database.
_DATABASE_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.")


def database_unreachable(error: BaseException) -> bool:
    """The database refused, dropped or timed out the connection (not a bug of ours)."""
    if isinstance(error, (DatabaseUnreachable, sa_exc.OperationalError, sa_exc.InterfaceError,
                          sa_exc.TimeoutError)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated
    # A TimeoutError is an OSError too: Slack's or GitHub's is not the database's.
    return isinstance(error, OSError) and _raised_in(error, _DATABASE_MODULES)


def _raised_in(error: BaseException, modules: tuple[str, ...]) -> bool:
    frame = error.__traceback__
    while frame is not None:
        if str(frame.tb_frame.f_globals.get("__name__", "")).startswith(modules):
            return True
        frame = frame.tb_next
    return False
