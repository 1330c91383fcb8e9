"""The audit log as a hash chain: editing, deleting or reordering a past event shows.

Each event stores `prev_hash` (the hash of the event before it; `GENESIS` for the first)
and `hash`, the SHA-256 of its canonical content *including* `prev_hash`. Appends are
serialised so that two processes can never chain onto the same predecessor: on PostgreSQL
by a transaction-scoped advisory lock taken before the head is read, on SQLite by the
write lock that `BEGIN IMMEDIATE` takes (storage.db). A unique constraint on `prev_hash`
makes a fork impossible even if that serialisation were bypassed.

What the chain cannot show on its own is the loss of the newest events (a truncated tail
is a valid shorter chain): the evidence pack names the head hash, and `verify(expect=...)`
checks that an exported head is still in the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEvent

GENESIS = "0" * 64
CANONICAL_VERSION = 1
# Any constant will do, as long as every process uses the same (storage.migrate uses another).
_APPEND_LOCK = 0x0C4A0D17


def normalise(detail: dict[str, Any] | None) -> dict[str, Any]:
    """The detail exactly as the database will give it back (tuples become lists, …), so
    that the hash computed now is the hash recomputed later."""
    return json.loads(json.dumps(detail or {}, allow_nan=False))


def canonical(
    *, change_id: int | None, at: datetime, actor: str, action: str,
    detail: dict[str, Any], prev_hash: str,
) -> bytes:
    """A stable serialisation: sorted keys, no whitespace, UTC time to the microsecond."""
    content = {
        "v": CANONICAL_VERSION,
        "change_id": change_id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def hash_of(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(
        change_id=event.change_id, at=event.at, actor=event.actor, action=event.action,
        detail=event.detail, prev_hash=event.prev_hash,
    )).hexdigest()


async def _locked_head(session: AsyncSession) -> str:
    """The hash to chain onto, read under the append lock (held until the transaction ends)."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.exec(  # type: ignore[call-overload]
            text("SELECT pg_advisory_xact_lock(:key)"), params={"key": _APPEND_LOCK}
        )
    return await head(session)


async def head(session: AsyncSession) -> str:
    """The newest event's hash (GENESIS when the log is empty)."""
    query = select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)
    found = (await session.exec(query)).first()
    return found or GENESIS


async def append(
    session: AsyncSession, *, at: datetime, actor: str, action: str,
    change_id: int | None = None, detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Chain a new event onto the head, in the caller's transaction."""
    event = AuditEvent(
        change_id=change_id, at=at, actor=actor, action=action, detail=normalise(detail),
        prev_hash=await _locked_head(session),
    )
    event.hash = hash_of(event)
    session.add(event)
    # Written now, so that the next append in this transaction chains onto it.
    await session.flush()
    return event


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: every event checked, or the first broken link."""

    events: int  # events checked before the first break (all of them when intact)
    head: str  # the hash of the last good event
    broken_at: int | None = None  # the id of the first event that does not check out
    problem: str = ""
    expected_head_found: bool | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None and self.expected_head_found is not False

    def describe(self) -> str:
        if self.broken_at is not None:
            return f"broken at event #{self.broken_at}: {self.problem}"
        if self.expected_head_found is False:
            return (f"intact: {self.events} events, but the expected head is not among them: "
                    "events after it were deleted, or it comes from another log")
        return f"intact: {self.events} events (head {self.head})"


async def verify(session: AsyncSession, *, expect: str | None = None,
                 batch: int = 1000) -> Verdict:
    """Walk the chain in id order and report the first event that does not check out.

    Content edited -> its stored hash no longer matches its content. Deleted or reordered
    -> its prev_hash is not the hash of the event before it. `expect` is a head hash from
    an earlier export: it must still be in the chain.
    """
    previous_hash, previous_id, checked = GENESIS, None, 0
    found_expected = None if expect is None else expect == GENESIS
    query = select(AuditEvent).order_by(col(AuditEvent.id)).execution_options(yield_per=batch)
    events = await session.stream_scalars(query)
    async for event in events:
        if event.hash != hash_of(event):
            return Verdict(checked, previous_hash, event.id, _edited(event))
        if event.prev_hash != previous_hash:
            return Verdict(checked, previous_hash, event.id,
                           _unlinked(event, previous_id, previous_hash))
        previous_hash, previous_id = event.hash, event.id
        checked += 1
        if expect is not None and event.hash == expect:
            found_expected = True
    return Verdict(checked, previous_hash, expected_head_found=found_expected)


def _what(event: AuditEvent) -> str:
    about = f" of CHG-{event.change_id}" if event.change_id else ""
    return f"{event.action}{about} by {event.actor} at {event.at.isoformat()}"


def _edited(event: AuditEvent) -> str:
    return (f"its content ({_what(event)}) does not match its hash {event.hash}: "
            "it was edited after it was written")


def _unlinked(event: AuditEvent, previous_id: int | None, previous_hash: str) -> str:
    if previous_id is None:
        return (f"it is the first event but does not start the chain (prev_hash "
                f"{event.prev_hash}): the events before it were deleted")
    return (f"its prev_hash {event.prev_hash} is not the hash of the event before it "
            f"(#{previous_id}, {previous_hash}): an event between them was deleted, the "
            f"events were reordered, or #{previous_id} was rewritten")


async def chain_state(session: AsyncSession) -> tuple[str, int]:
    """(head hash, number of events), for naming the log an export was taken from."""
    count = (await session.exec(select(func.count()).select_from(AuditEvent))).one()
    return await head(session), count


def link(previous: str, row: dict[str, Any]) -> str:
    """The hash of an existing row chained onto `previous` (chaining a log written before
    hashes existed: see the migration)."""
    return hash_of(AuditEvent(
        change_id=row["change_id"], at=row["at"], actor=row["actor"], action=row["action"],
        detail=normalise(row["detail"]), prev_hash=previous,
    ))
