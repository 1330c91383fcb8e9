"""Reminder rows: scheduled in the caller's transaction, claimed atomically by one sweeper.

Claiming is one `UPDATE … RETURNING` over due, unclaimed rows; on PostgreSQL the candidate
rows are locked `FOR UPDATE SKIP LOCKED`, so two processes never claim the same row. SQLite
serialises writers, which gives the same guarantee there.
"""

from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import case, func, make_url, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Reminder
from storage.repo import is_postgresql

PERSON_WAITING, SCHEDULED = 0, 1  # Reminder.priority: lower is claimed first
NOTIFY_CHANNEL = "changebot_reminders"


async def schedule(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    due_at: datetime,
    now: datetime,
    change_id: int | None = None,
    recipient: str | None = None,
    payload: dict | None = None,
) -> bool:
    """Add a reminder unless one with this key exists; True when it was added. Due now
    means a person's action caused it (a card, an answer, a review request): it goes ahead
    of the reminders that were scheduled for later."""
    values = dict(
        key=key, kind=kind, due_at=due_at, created_at=now, change_id=change_id,
        recipient=recipient, payload=payload or {}, attempts=0,
        priority=PERSON_WAITING if due_at <= now else SCHEDULED,
    )
    dialect = postgresql if is_postgresql(session) else sqlite
    statement = (
        dialect.insert(Reminder).values(**values).on_conflict_do_nothing(index_elements=["key"])
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    added = bool(result.rowcount)
    if added and is_postgresql(session):  # delivered at commit, to every replica's sweeper
        await session.exec(text(f"NOTIFY {NOTIFY_CHANNEL}"))  # type: ignore[call-overload]
    return added


async def listen(url: str, on_notify: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """PostgreSQL only: call `on_notify` whenever any process schedules a reminder; returns
    the function that stops listening. One connection of its own, outside the pool."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    await connection.add_listener(NOTIFY_CHANNEL, lambda *_: on_notify())
    return connection.close


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next row can be claimed: its due time, or the end of its claim (a row
    paced, backing off or held by a sweeper)."""
    free_at = case(
        (col(Reminder.claimed_until) > col(Reminder.due_at), col(Reminder.claimed_until)),
        else_=col(Reminder.due_at),
    )
    query = select(func.min(free_at)).where(
        col(Reminder.sent_at).is_(None), col(Reminder.cancelled_at).is_(None)
    )
    found = (await session.exec(query)).one()  # type: ignore[call-overload]
    value = found[0] if isinstance(found, tuple) else found
    if isinstance(value, str):  # SQLite hands back an aggregate's datetime as text
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


async def cancel(
    session: AsyncSession, *, now: datetime, change_id: int, kinds: Sequence[str] | None = None,
    kinds_except: Sequence[str] = (), reason: str = "no longer applies",
) -> int:
    """Cancel the change's reminders that have not been sent (all, or of these kinds, but
    never of `kinds_except`)."""
    statement = (
        update(Reminder)
        .where(col(Reminder.change_id) == change_id)
        .where(col(Reminder.sent_at).is_(None), col(Reminder.cancelled_at).is_(None))
        .values(cancelled_at=now, last_error=reason)
    )
    if kinds is not None:
        statement = statement.where(col(Reminder.kind).in_(kinds))
    if kinds_except:
        statement = statement.where(col(Reminder.kind).not_in(kinds_except))
    result = await session.exec(statement)  # type: ignore[call-overload]
    return result.rowcount


async def claim_due(
    session: AsyncSession, *, worker: str, now: datetime, lease: timedelta, limit: int = 20,
    people_first_only: bool = False, kinds_except: Collection[str] = (),
) -> list[Reminder]:
    """Claim up to `limit` due rows, people first; `people_first_only`: those alone."""
    due = (
        select(Reminder.id)
        .where(col(Reminder.sent_at).is_(None), col(Reminder.cancelled_at).is_(None))
        .where(col(Reminder.due_at) <= now)
        .where(or_(col(Reminder.claimed_until).is_(None), col(Reminder.claimed_until) < now))
        .order_by(col(Reminder.priority), col(Reminder.due_at), col(Reminder.id))
        .limit(limit)
    )
    if people_first_only:
        due = due.where(col(Reminder.priority) == PERSON_WAITING)
    if kinds_except:
        due = due.where(col(Reminder.kind).not_in(kinds_except))
    if is_postgresql(session):
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(Reminder)
        .where(col(Reminder.id).in_(due.scalar_subquery()))
        .values(claimed_by=worker, claimed_until=now + lease, attempts=Reminder.attempts + 1)
        .returning(Reminder)
    )
    rows = (await session.exec(statement)).scalars().all()  # type: ignore[call-overload]
    return sorted(rows, key=lambda r: (r.priority, r.due_at, r.id))


async def claim_key(
    session: AsyncSession, key: str, *, worker: str, now: datetime, lease: timedelta
) -> Reminder | None:
    """Claim the one row `key` when it is due and free, as `claim_due` would; None when it
    is done, not due, or another worker holds it."""
    statement = (
        update(Reminder)
        .where(col(Reminder.key) == key, col(Reminder.due_at) <= now)
        .where(col(Reminder.sent_at).is_(None), col(Reminder.cancelled_at).is_(None))
        .where(or_(col(Reminder.claimed_until).is_(None), col(Reminder.claimed_until) < now))
        .values(claimed_by=worker, claimed_until=now + lease, attempts=Reminder.attempts + 1)
        .returning(Reminder)
    )
    return (await session.exec(statement)).scalars().first()  # type: ignore[call-overload]


async def finish(
    session: AsyncSession, reminder_id: int, *, worker: str, now: datetime,
    sent: bool = True, note: str | None = None,
) -> bool:
    """Mark sent (or cancelled) if we still hold the claim; False if someone took it over."""
    values = {"sent_at": now} if sent else {"cancelled_at": now, "last_error": note}
    statement = (
        update(Reminder)
        .where(col(Reminder.id) == reminder_id, col(Reminder.claimed_by) == worker)
        .where(col(Reminder.sent_at).is_(None), col(Reminder.cancelled_at).is_(None))
        .values(**values)
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount)


async def renew(
    session: AsyncSession, reminder_ids: Sequence[int], *, worker: str, until: datetime
) -> int:
    """The heartbeat: extend this worker's claims that are still open to `until`."""
    return await _update_open_claims(session, reminder_ids, worker, claimed_until=until)


async def release(session: AsyncSession, reminder_ids: Sequence[int], *, worker: str) -> int:
    """Give back claims that were not worked on (a clean stop): due again at once for any
    process, and the attempt the claim counted is taken back."""
    return await _update_open_claims(session, reminder_ids, worker, claimed_until=None,
                                     attempts=Reminder.attempts - 1)


async def _update_open_claims(session: AsyncSession, reminder_ids: Sequence[int], worker: str,
                              **values: Any) -> int:
    """Set `values` on this worker's claims among `reminder_ids` that are still open."""
    if not reminder_ids:
        return 0
    statement = (
        update(Reminder)
        .where(col(Reminder.id).in_(reminder_ids), col(Reminder.claimed_by) == worker)
        .where(col(Reminder.sent_at).is_(None), col(Reminder.cancelled_at).is_(None))
        .values(**values)
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    return int(result.rowcount)


async def retry_later(
    session: AsyncSession, reminder_id: int, *, worker: str, retry_at: datetime, error: str,
    count_attempt: bool = True,
) -> None:
    """Keep the row, note the error, and let it be claimed again at retry_at."""
    values: dict = {"claimed_until": retry_at, "last_error": error[:500]}
    if not count_attempt:  # waiting for something else is not a failed attempt
        values["attempts"] = Reminder.attempts - 1
    statement = (
        update(Reminder)
        .where(col(Reminder.id) == reminder_id, col(Reminder.claimed_by) == worker)
        .values(**values)
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def pending(session: AsyncSession, change_id: int | None = None) -> Sequence[Reminder]:
    query = select(Reminder).where(
        col(Reminder.sent_at).is_(None), col(Reminder.cancelled_at).is_(None)
    )
    if change_id is not None:
        query = query.where(Reminder.change_id == change_id)
    return (await session.exec(query.order_by(col(Reminder.due_at)))).all()


async def note_posted(session: AsyncSession, reminder: Reminder, posted: dict) -> None:
    """Where the reminder's message went (channel, ts, what it said), so that it can be
    updated once it no longer applies."""
    statement = (
        update(Reminder).where(col(Reminder.id) == reminder.id)
        .values(payload={**reminder.payload, "posted": posted})
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def retire(session: AsyncSession, reminder: Reminder) -> None:
    """Its message was updated to say it no longer applies: never again."""
    statement = (
        update(Reminder).where(col(Reminder.id) == reminder.id)
        .values(payload={**reminder.payload, "retired": True})
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def posted_of(session: AsyncSession, change_id: int) -> list[Reminder]:
    """The change's messages sent to one person, whose address is known and that were not
    retired yet."""
    query = select(Reminder).where(Reminder.change_id == change_id,
                                   col(Reminder.sent_at).is_not(None),
                                   col(Reminder.recipient).is_not(None))
    rows = (await session.exec(query.order_by(col(Reminder.id)))).all()
    return [r for r in rows if r.payload.get("posted") and not r.payload.get("retired")]
