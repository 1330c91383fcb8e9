"""Seeding a large database in seconds: rows written in bulk beside the ORM (SQLite:
`executemany` on one connection; PostgreSQL: COPY), the audit trail's hash chain computed
as the bot computes it (storage.audit_chain, checked on the first event)."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import make_url, text

from storage import audit_chain
from storage.db import Database
from storage.models import AuditEvent

CHUNK = 20_000


def _sqlite_time(value: datetime) -> str:
    """As SQLAlchemy keeps times on SQLite: naive UTC, `YYYY-MM-DD HH:MM:SS.ffffff`."""
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _json(value: Any) -> str:
    return json.dumps(value) if value else ("{}" if isinstance(value, dict) else "[]")


# By the value's type (JSON columns take their text; enums their value), else as it is.
SQLITE = {datetime: _sqlite_time, dict: _json, list: _json}
POSTGRES: dict[type, Any] = {dict: _json, list: _json}


def _converted(row: Sequence[Any], table: dict[type, Any]) -> tuple:
    return tuple(table[type(v)](v) if type(v) in table else
                 (v.value if isinstance(v, Enum) else v) for v in row)


def complete(model: Any, rows: Iterable[dict[str, Any]]) -> tuple[list[str], Iterator[tuple]]:
    """The columns of `model`'s table that the rows give or that have a default, and the rows
    as tuples in that order (a missing value takes the model's default)."""
    rows = iter(rows)
    first = next(rows)
    names, defaults = [], {}
    for column in model.__table__.columns:
        if column.name in first:
            names.append(column.name)
            continue
        field = model.model_fields.get(column.name)
        if column.primary_key or field is None:
            continue
        names.append(column.name)
        defaults[column.name] = field.get_default(call_default_factory=True)

    def tuples() -> Iterator[tuple]:
        for row in itertools.chain([first], rows):
            yield tuple(row[name] if name in row else defaults[name] for name in names)

    return names, tuples()


async def insert(db: Database, table: str, names: Sequence[str],
                 rows: Iterable[Sequence[Any]]) -> int:
    """Write `rows` (tuples in the order of `names`) into `table` in bulk; how many."""
    count = 0
    if db.url.startswith("postgresql"):
        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            batch: list[tuple] = []
            for row in rows:
                batch.append(_converted(row, POSTGRES))
                if len(batch) == CHUNK:
                    await raw.copy_records_to_table(table, records=batch, columns=list(names))
                    count, batch = count + len(batch), []
            if batch:
                await raw.copy_records_to_table(table, records=batch, columns=list(names))
                count += len(batch)
            if "id" in names:  # ids given: the bot's next row takes the one after
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', "
                                        f"'id'), (SELECT max(id) FROM {table}))"))
            await conn.commit()
        return count
    path = make_url(db.url).database
    connection = sqlite3.connect(path or "")
    try:
        connection.execute("PRAGMA synchronous=OFF")
        marks = ", ".join("?" * len(names))
        statement = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
        batch = []
        for row in rows:
            batch.append(_converted(row, SQLITE))
            if len(batch) == CHUNK:
                connection.executemany(statement, batch)
                count, batch = count + len(batch), []
        connection.executemany(statement, batch)
        connection.commit()
        return count + len(batch)
    finally:
        connection.close()


async def rows(db: Database, model: Any, given: Iterable[dict[str, Any]]) -> int:
    """Insert `given` (dicts) into `model`'s table in bulk, defaults filled in."""
    names, tuples = complete(model, given)
    return await insert(db, model.__tablename__, names, tuples)


def chained_events(events: Iterable[tuple[int | None, datetime, str, str, dict[str, Any]]],
                   *, sqlite: bool, previous: str = audit_chain.GENESIS) -> Iterator[tuple]:
    """(change_id, at, actor, action, detail) as audit_events rows chained onto `previous`:
    the canonical JSON of storage.audit_chain written out directly (plain SHA-256, no key),
    the time and the detail as the database keeps them."""
    checked = False
    quoted: dict[str, str] = {}  # actors and actions repeat: their JSON, once each
    for change_id, at, actor, action, detail in events:
        detail_json = json.dumps(detail, sort_keys=True, separators=(",", ":"),
                                 ensure_ascii=False)
        moment = at.astimezone(UTC).isoformat(timespec="microseconds")
        who = quoted.get(actor) or quoted.setdefault(actor, json.dumps(actor))
        what = quoted.get(action) or quoted.setdefault(action, json.dumps(action))
        content = (f'{{"action":{what},"actor":{who},"at":"{moment}",'
                   f'"change_id":{"null" if change_id is None else change_id},'
                   f'"detail":{detail_json},"prev_hash":"{previous}","v":1}}').encode()
        if not checked:
            assert content == audit_chain.canonical(
                change_id=change_id, at=at, actor=actor, action=action, detail=detail,
                prev_hash=previous), "the seeded chain would not verify"
            checked = True
        digest = hashlib.sha256(content).hexdigest()
        stored_at = f"{moment[:10]} {moment[11:26]}" if sqlite else at
        yield change_id, stored_at, actor, action, detail_json, previous, digest
        previous = digest


EVENT_COLUMNS = ("change_id", "at", "actor", "action", "detail", "prev_hash", "hash")
assert set(EVENT_COLUMNS) | {"id"} == {c.name for c in AuditEvent.__table__.columns}  # type: ignore[attr-defined]
