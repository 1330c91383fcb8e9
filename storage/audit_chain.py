"""The audit log as a hash chain: editing, deleting or reordering a past event shows.

Each event stores `prev_hash` (the hash of the event before it; `GENESIS` for the first)
and `hash`, the SHA-256 of its canonical content *including* `prev_hash` -- or, when
CHANGEBOT_AUDIT_KEY is set, its HMAC-SHA256 under that key, so that rewriting the chain
needs a key the database never holds. Which of the two an event carries is told by which
one matches (`mode_of`); `verify` says which mode it checked and where the chain switches.
The key reaches appends through the session's `info` (storage.db). Appends are
serialised so that two processes can never chain onto the same predecessor: on PostgreSQL
by a transaction-scoped advisory lock taken before the head is read, on SQLite by the
write lock that `BEGIN IMMEDIATE` takes (storage.db). A unique constraint on `prev_hash`
makes a fork impossible even if that serialisation were bypassed.

What the chain cannot show on its own is the loss of the newest events (a truncated tail
is a valid shorter chain), nor a rewrite by someone holding the key: the head is witnessed
outside the database (bot.evidence.witness posts checkpoints to Slack), the evidence pack
names it, and `verify(expect=...)` checks that an exported head is still in the chain.
The rows the evidence pack reads are chained too, as snapshots (storage.audit_rows).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.engine import Connection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEvent

GENESIS = "0" * 64
CANONICAL_VERSION = 1
# Any constant will do, as long as every process uses the same (storage.migrate uses another).
_APPEND_LOCK = 0x0C4A0D17
PLAIN = "SHA-256"
KEYED = "HMAC-SHA256"
# Where the key travels with a session (storage.db sets it); never written anywhere.
KEY_INFO = "changebot_audit_key"


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


def seal(content: bytes, key: bytes | None) -> str:
    """The hash stored with an event: HMAC-SHA256 under the key, else plain SHA-256."""
    if key:
        return hmac.new(key, content, hashlib.sha256).hexdigest()
    return hashlib.sha256(content).hexdigest()


def _content(event: AuditEvent) -> bytes:
    return canonical(
        change_id=event.change_id, at=event.at, actor=event.actor, action=event.action,
        detail=event.detail, prev_hash=event.prev_hash,
    )


def hash_of(event: AuditEvent, key: bytes | None = None) -> str:
    return seal(_content(event), key)


def mode_of(event: AuditEvent, key: bytes | None) -> str | None:
    """PLAIN or KEYED, whichever the stored hash is; None when neither matches (edited, or
    keyed with a key not given here)."""
    content = _content(event)
    if hmac.compare_digest(event.hash, seal(content, None)):
        return PLAIN
    if key and hmac.compare_digest(event.hash, seal(content, key)):
        return KEYED
    return None


def session_key(session: AsyncSession) -> bytes | None:
    return session.info.get(KEY_INFO)


async def _locked_head(session: AsyncSession) -> str:
    """The hash to chain onto, read under the append lock (held until the transaction ends)."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.exec(  # type: ignore[call-overload]
            text("SELECT pg_advisory_xact_lock(:key)"), params={"key": _APPEND_LOCK}
        )
    return await head(session)


def locked_head_sync(connection: Connection) -> str:
    """`_locked_head` for code running inside a flush (storage.audit_rows)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    query = select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)
    return connection.execute(query).scalar() or GENESIS


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
        prev_hash=await _locked_head(session), hash="",
    )
    event.hash = hash_of(event, session_key(session))
    session.add(event)
    # Written now, so that the next append in this transaction chains onto it.
    await session.flush()
    return event


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: every event checked, or the first broken link; and in which
    mode (plain SHA-256 or HMAC) the events were sealed."""

    events: int  # events checked before the first break (all of them when intact)
    head: str  # the hash of the last good event
    broken_at: int | None = None  # the id of the first event that does not check out
    problem: str = ""
    expected_head_found: bool | None = None
    keyed: bool = False  # checked with CHANGEBOT_AUDIT_KEY
    first_keyed: int | None = None  # the id of the first HMAC event
    last_plain: int | None = None  # the id of the last plain event before it

    @property
    def unkeyed(self) -> bool:
        """A key was given, yet no event carries its HMAC: the chain was written without
        the key since it was set, or rewritten by someone without it."""
        return self.keyed and self.events > 0 and self.first_keyed is None

    @property
    def intact(self) -> bool:
        return (self.broken_at is None and self.expected_head_found is not False
                and not self.unkeyed)

    def mode(self) -> str:
        if not self.keyed:
            return f"checked as plain {PLAIN} (CHANGEBOT_AUDIT_KEY is not set)"
        if self.first_keyed is None:
            return f"checked with CHANGEBOT_AUDIT_KEY: every event is plain {PLAIN}"
        if self.last_plain is None:
            return f"{KEYED} with CHANGEBOT_AUDIT_KEY throughout"
        return (f"plain {PLAIN} up to event #{self.last_plain}, then {KEYED} with "
                f"CHANGEBOT_AUDIT_KEY from event #{self.first_keyed}")

    def describe(self) -> str:
        if self.broken_at is not None:
            return f"broken at event #{self.broken_at}: {self.problem}"
        if self.expected_head_found is False:
            return (f"intact: {self.events} events, but the expected head is not among them: "
                    "events after it were deleted, or it comes from another log")
        if self.unkeyed:
            return (f"not verified: CHANGEBOT_AUDIT_KEY is set but none of the {self.events} "
                    "events carries its HMAC: the chain was rewritten by someone without the "
                    "key, or nothing was written since the key was set")
        return f"intact: {self.events} events (head {self.head}); {self.mode()}"


Observer = Callable[[AuditEvent, int], None]


async def verify(session: AsyncSession, *, expect: str | None = None,
                 key: bytes | None = None, observe: Observer | None = None,
                 batch: int = 1000) -> Verdict:
    """Walk the chain in id order and report the first event that does not check out.

    Content edited -> its stored hash no longer matches its content. Deleted or reordered
    -> its prev_hash is not the hash of the event before it. `expect` is a head hash from
    an earlier export: it must still be in the chain. With `key`, plain events are only
    accepted before the first keyed one: a plain event after it was written without the
    key. `observe(event, position)` sees each good event (the replay of row snapshots,
    the witness's checkpoints).
    """
    previous_hash, previous_id, checked = GENESIS, None, 0
    first_keyed = last_plain = None
    found_expected = None if expect is None else expect == GENESIS

    def verdict(**kw) -> Verdict:
        return Verdict(checked, previous_hash, keyed=bool(key), first_keyed=first_keyed,
                       last_plain=last_plain if first_keyed else None, **kw)

    query = select(AuditEvent).order_by(col(AuditEvent.id)).execution_options(yield_per=batch)
    events = await session.stream_scalars(query)
    async for event in events:
        mode = mode_of(event, key)
        if mode is None:
            return verdict(broken_at=event.id, problem=_edited(event, key))
        if event.prev_hash != previous_hash:
            return verdict(broken_at=event.id,
                           problem=_unlinked(event, previous_id, previous_hash))
        if mode == KEYED and first_keyed is None:
            first_keyed = event.id
        elif mode == PLAIN and first_keyed is not None:
            return verdict(broken_at=event.id, problem=(
                f"it is plain {PLAIN} after {KEYED} events (from #{first_keyed}): it was "
                "written without CHANGEBOT_AUDIT_KEY, or rewritten by someone without it"))
        elif mode == PLAIN:
            last_plain = event.id
        previous_hash, previous_id = event.hash, event.id
        checked += 1
        if expect is not None and event.hash == expect:
            found_expected = True
        if observe is not None:
            observe(event, checked)
    return verdict(expected_head_found=found_expected)


def _what(event: AuditEvent) -> str:
    about = f" of CHG-{event.change_id}" if event.change_id else ""
    return f"{event.action}{about} by {event.actor} at {event.at.isoformat()}"


def _edited(event: AuditEvent, key: bytes | None) -> str:
    if key:
        return (f"its content ({_what(event)}) matches neither its {PLAIN} nor its {KEYED} "
                f"hash {event.hash}: it was edited after it was written (or sealed with "
                "another key)")
    return (f"its content ({_what(event)}) does not match its hash {event.hash}: "
            "it was edited after it was written (or it was sealed with CHANGEBOT_AUDIT_KEY, "
            "which is not set here)")


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
    hashes existed: see the migration 0004, which stays plain)."""
    return hash_of(AuditEvent(
        change_id=row["change_id"], at=row["at"], actor=row["actor"], action=row["action"],
        detail=normalise(row["detail"]), prev_hash=previous, hash="",
    ))
