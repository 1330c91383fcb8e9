"""The rows the evidence pack reads, chained: a snapshot event for every write, replayed by
`changebot audit verify` against the live rows.

The evidence pack is computed from `changes`, `approvals`, `deployments` and `freezes`
(the one-off freezes declared in Slack, which say which deployments broke one). Whatever
writes them through a session of storage.db, `RowChain` appends to the audit chain, in the
same transaction, one `row_snapshot` event per inserted, updated or deleted row with the
row's values (`after_flush` for ORM writes, `do_orm_execute` for `update()`/`delete()`
statements). `Replay` then rebuilds from the chain what each row must hold, and `compare`
reports every row edited, inserted or deleted outside the chain, field by field.

Snapshots carry no change_id: they are the record of the rows, not a step of a change,
so a change's history (and the pack's timeline) shows only its steps. Columns that are
bookkeeping, not evidence (where the card is posted, retry state), are left out.
A raw SQL write, or a session of another engine, bypasses this: that is what `verify` is
for. An INSERT statement into these tables (not an ORM add) is refused: it would escape.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Table, event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import audit_chain
from storage.models import Approval, AuditEvent, Change, DeclaredFreeze, Deployment

SNAPSHOT = "row_snapshot"
ACTOR = "changebot"
MODELS: dict[str, type] = {"changes": Change, "approvals": Approval, "deployments": Deployment,
                           "freezes": DeclaredFreeze}
_SKIPPED: dict[str, frozenset[str]] = {
    "changes": frozenset({"card_channel", "card_ts", "source_key", "updated_at",
                          "security_routed_at", "security_route_error"}),
}


def table_of(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def columns(name: str) -> list[str]:
    skipped = _SKIPPED.get(name, frozenset())
    return [c.name for c in table_of(MODELS[name]).columns if c.name not in skipped]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def row_values(name: str, get: Callable[[str], Any]) -> dict[str, Any]:
    """A row as its snapshot holds it: the chained columns, times as UTC ISO text, JSON
    exactly as the database gives it back."""
    return audit_chain.normalise({c: _plain(get(c)) for c in columns(name)})


def digest(row: dict[str, Any] | None) -> str | None:
    if row is None:
        return None
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _name(model: type) -> str | None:
    found = getattr(model, "__tablename__", None)
    return found if found in MODELS else None


class RowChain:
    """The session hook (registered per Database, see storage.db): chains every write to
    the tables the evidence pack reads."""

    def __init__(self, key: bytes | None, now: Callable[[], datetime]) -> None:
        self.key = key
        self.now = now

    def register(self, session_class: type[Session]) -> None:
        event.listen(session_class, "after_flush", self._after_flush)
        event.listen(session_class, "do_orm_execute", self._on_execute)

    def _after_flush(self, session: Session, _flush: UOWTransaction) -> None:
        # After the flush the new rows have their ids; `new`/`dirty`/`deleted` still list
        # what the flush wrote.
        snapshots: list[dict[str, Any]] = []
        for op, objects in (("insert", session.new), ("update", session.dirty),
                            ("delete", session.deleted)):
            for obj in objects:
                name = _name(type(obj))
                if name is None or (op == "update" and not self._changed(session, obj, name)):
                    continue
                row = None if op == "delete" else row_values(name, partial(getattr, obj))
                snapshots.append(snapshot(name, obj.id, op, row))
        if snapshots:
            self.append(session.connection(), snapshots)

    @staticmethod
    def _changed(session: Session, obj: Any, name: str) -> bool:
        if not session.is_modified(obj):
            return False
        from sqlalchemy import inspect

        attrs = inspect(obj).attrs
        return any(attrs[c].history.has_changes() for c in columns(name))

    def _on_execute(self, state: ORMExecuteState) -> Any:
        """UPDATE/DELETE statements on the chained tables (bulk, not through objects)."""
        if not (state.is_update or state.is_delete or state.is_insert):
            return None
        mapper = state.bind_mapper
        name = _name(mapper.class_) if mapper is not None else None
        if name is None:
            return None
        if state.is_insert:
            raise RuntimeError(f"INSERT statements into {name} would escape the audit chain: "
                               "add the objects to the session instead")
        statement: Any = state.statement
        table = table_of(MODELS[name])
        connection = state.session.connection()
        if state.is_update:
            assigned = {getattr(k, "key", getattr(k, "name", k))
                        for k in getattr(statement, "_values", {}) or {}}
            if assigned and not assigned & set(columns(name)):
                return None  # bookkeeping only (e.g. where the card was posted)
            result = state.invoke_statement()
            rows = connection.execute(_where(select(table), statement)).mappings()
            self.append(connection, [
                snapshot(name, r["id"], "update", row_values(name, r.__getitem__))
                for r in rows])
            return result
        doomed = list(connection.execute(_where(select(table.c.id), statement)).scalars())
        result = state.invoke_statement()
        self.append(connection, [snapshot(name, i, "delete", None) for i in doomed])
        return result

    def append(self, connection: Connection, snapshots: Iterable[dict[str, Any]]) -> None:
        """Chain the snapshots onto the head, under the chain's append lock."""
        snapshots = list(snapshots)
        if not snapshots:
            return
        previous = audit_chain.locked_head_sync(connection)
        for detail in snapshots:
            at = self.now()
            sealed = audit_chain.seal(audit_chain.canonical(
                change_id=None, at=at, actor=ACTOR, action=SNAPSHOT, detail=detail,
                prev_hash=previous,
            ), self.key)
            connection.execute(insert(table_of(AuditEvent)).values(
                change_id=None, at=at, actor=ACTOR, action=SNAPSHOT, detail=detail,
                prev_hash=previous, hash=sealed,
            ))
            previous = sealed


def rechain(connection: Connection, names: Iterable[str], key: bytes | None, *,
            batch: int = 500) -> None:
    """For a migration that added columns: every row of the tables `names` as it now is,
    snapshot again, so that `verify` still finds it as recorded. Only the columns the
    database has at this revision are read (a later one's are snapshot as empty)."""
    migrated_at = datetime.now(UTC)
    chain = RowChain(key, lambda: migrated_at)
    for name in names:
        model_table = table_of(MODELS[name])
        present = {c["name"] for c in inspect(connection).get_columns(name)}
        table_columns = [c for c in model_table.columns if c.name in present]
        last_id = 0
        while True:
            rows = connection.execute(
                select(*table_columns).where(model_table.c.id > last_id)
                .order_by(model_table.c.id).limit(batch)
            ).mappings().all()
            if not rows:
                break
            chain.append(connection, [
                snapshot(name, row["id"], "update", row_values(name, row.get)) for row in rows
            ])
            last_id = rows[-1]["id"]


def _where(query: Any, statement: Any) -> Any:
    return query if statement.whereclause is None else query.where(statement.whereclause)


def snapshot(name: str, row_id: int, op: str, row: dict[str, Any] | None) -> dict[str, Any]:
    return audit_chain.normalise({"table": name, "id": row_id, "op": op, "row": row})


# --------------------------------------------------------------------------------------
# Replay and compare
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """A row that does not hold what the chain says it does."""

    table: str
    row_id: int
    field: str | None
    what: str

    def describe(self) -> str:
        where = f"{self.table} #{self.row_id}"
        if self.field:
            return f"{where}, field {self.field}: {self.what}"
        return f"{where}: {self.what}"


class Replay:
    """What every chained row must hold: for each, its last snapshot (the event's id and a
    digest of the row; None once deleted). Fed by `audit_chain.verify(observe=...)`."""

    def __init__(self) -> None:
        self.latest: dict[tuple[str, int], tuple[int, str | None]] = {}
        self.snapshots = 0

    def see(self, event: AuditEvent, _position: int) -> None:
        if event.action != SNAPSHOT or event.change_id is not None:
            return
        detail = event.detail
        name, row_id = detail.get("table"), detail.get("id")
        if name not in MODELS or not isinstance(row_id, int):
            return
        self.snapshots += 1
        row = detail.get("row") if detail.get("op") != "delete" else None
        self.latest[(name, row_id)] = (event.id or 0, digest(row))

    async def compare(self, session: AsyncSession, batch: int = 1000) -> RowCheck:
        problems: list[RowProblem] = []
        counts: dict[str, int] = {}
        for name, model in MODELS.items():
            table = table_of(model)
            counts[name] = 0
            query = select(table).order_by(table.c.id).execution_options(yield_per=batch)
            result = await session.stream(query)
            async for row in result.mappings():
                counts[name] += 1
                chained = self.latest.pop((name, row["id"]), None)
                live = row_values(name, row.__getitem__)
                if chained is None or chained[1] is None:
                    how = ("it was inserted outside the audit chain (no snapshot records it)"
                           if chained is None else
                           f"the chain says it was deleted (event #{chained[0]}), yet it is "
                           "in the database")
                    problems.append(RowProblem(name, row["id"], None, how))
                elif digest(live) != chained[1]:
                    problems += await _edits(session, name, row["id"], live, chained[0])
        for (name, row_id), (event_id, chained_digest) in sorted(self.latest.items()):
            if chained_digest is not None:
                problems.append(RowProblem(name, row_id, None, (
                    f"it was deleted outside the audit chain (last recorded by event "
                    f"#{event_id})")))
        return RowCheck(counts, problems)


@dataclass(frozen=True)
class RowCheck:
    rows: dict[str, int]  # live rows compared, per table
    problems: list[RowProblem]

    def describe(self) -> str:
        counted = ", ".join(f"{n} {name}" for name, n in self.rows.items())
        if not self.problems:
            return f"rows: {counted}: every one as the audit chain records it"
        return (f"rows: {counted}: {len(self.problems)} problem(s), written outside the "
                "audit chain:")


async def _edits(session: AsyncSession, name: str, row_id: int, live: dict[str, Any],
                 event_id: int) -> list[RowProblem]:
    event_row = await session.get(AuditEvent, event_id)
    chained = (event_row.detail.get("row") if event_row else None) or {}
    return [
        RowProblem(name, row_id, field, (
            f"edited outside the audit chain: the database holds {_show(live.get(field))}, "
            f"the chain {_show(chained.get(field))} (event #{event_id})"))
        for field in sorted(set(live) | set(chained))
        if digest({"v": live.get(field)}) != digest({"v": chained.get(field)})
    ]


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
