"""Sends due reminders and notifications exactly once, from rows in our own table.

Each process sweeps when kicked (after the transaction that scheduled something), at the next
due time (an APScheduler job planned after each sweep), on a NOTIFY from another replica
(PostgreSQL), and every few seconds as a safety net. A batch of claimed rows is sent side by
side (CONCURRENCY), paced per Slack channel by `pacer`. Each row is claimed before it is
handled and marked sent only after Slack said ok: a crash in between is recovered when the
claim expires (see `bot.slack.outbox.post_once` for how a repeat message is avoided then).

Claims are short (LEASE, or CHANGEBOT_CLAIM_LEASE_SECONDS) and renewed by a heartbeat while
this process works on them, so a crashed replica's rows go out within LEASE + one sweep
interval (under 30 s), while a live one that is merely slow keeps its rows. A clean stop
finishes what is due within its grace period; what it still had claimed but not started then
is given back at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.context import Context
from bot.slack.pacing import Pacer
from storage import reminder_store
from storage.db import answer_due
from storage.models import Reminder

log = logging.getLogger(__name__)

# The function that carries out reminders of one kind; the table of them all, handed to
# the Sweeper, is bot.flows.kinds.KINDS.
Handler = Callable[[Context, Reminder], Awaitable[None]]


class Payload(BaseModel):
    """The declared shape of one kind's `Reminder.payload`: checked when it is scheduled
    and again when it is claimed (a row written by an older version may differ)."""

    model_config = ConfigDict(extra="ignore")  # rows carry bookkeeping too (`posted`)


class NoPayload(Payload):
    """Kinds that carry nothing but the change or the recipient."""


class Kind(NamedTuple):
    """One row of the table: who carries the reminder out, and the shape of its payload."""

    handler: Handler
    payload: type[Payload]


class Skip(Exception):  # noqa: N818 - it is an outcome, not an error
    """The reminder no longer applies (e.g. the change was rolled back): cancel it."""


class NotYet(Exception):  # noqa: N818
    """What it needs is not there yet (e.g. the card is not posted): try again soon."""

    def __init__(self, reason: str, after: timedelta = timedelta(seconds=5)) -> None:
        super().__init__(reason)
        self.after = after


LEASE = timedelta(seconds=20)
# Sends in flight at once per process: Slack answers in ~100 ms, so 8 carry ~80 a second,
# well above what its per-channel limits let through, while the event loop stays free.
CONCURRENCY = 8
# Rows a person is waiting for, claimed at a time by the slot kept for them (see express).
EXPRESS_BATCH = 4


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** max(attempts - 1, 0), 3600))


class Sweeper:
    def __init__(
        self,
        ctx: Context,
        kinds: Mapping[str, Kind],
        *,
        worker: str | None = None,
        lease: timedelta = LEASE,
        max_attempts: int = 12,
        concurrency: int = CONCURRENCY,
        alone: Collection[str] = (),
        in_order: Collection[str] = (),
    ) -> None:
        self.ctx = ctx
        self.kinds = dict(kinds)
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.lease = lease
        # Real seconds between renewals: several before a lease (of the injected clock) ends.
        self.heartbeat_every = lease.total_seconds() / 4
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.alone = frozenset(alone)  # kinds handled with nothing else in flight
        self.in_order = frozenset(in_order)  # kinds handled first, one by one, in claim order
        self._lock = asyncio.Lock()
        self._alone = asyncio.Lock()  # held by the express slot's row, and by an `alone` row
        self._kicked = False
        self._running = False
        self._expressing = False  # the express slot is at work
        self._no_express_work = asyncio.Event()  # cleared while it handles rows: the
        self._no_express_work.set()  # batch starts no new send meanwhile (people first)
        self._express_kicked = False
        self._stopping = False
        self._finishing = False
        self._waiting: set[int] = set()  # claimed by this process, not started yet
        self._active: set[int] = set()  # the rows being handled
        self.pacer = Pacer(ctx.clock.now)  # Slack's limits, per method and channel
        self._scheduler: AsyncIOScheduler | None = None
        self.interval = 5.0  # seconds between safety sweeps (see start)
        self.next_due: datetime | None = None  # by the injected clock; None: nothing pending
        self._listening: asyncio.Task | None = None
        self.listening = False  # LISTENing for other replicas' rows (PostgreSQL)

    async def run_once(self) -> int:
        """Handle everything due now; returns how many rows were handled."""
        handled = 0
        async with self._lock:
            while True:
                now = self.ctx.clock.now()
                async with self.ctx.db.session() as session:
                    claimed = await reminder_store.claim_due(
                        session, worker=self.worker, now=now, lease=self.lease,
                        limit=self.concurrency * 2,
                    )
                if not claimed:
                    async with self.ctx.db.session() as session:
                        self.next_due = await reminder_store.next_due(session)
                    self._plan_wake()
                    return handled
                batch = {r.id for r in claimed if r.id is not None}
                self._waiting |= batch
                heartbeat = asyncio.create_task(self._heartbeat(), name="sweeper heartbeat")
                try:
                    handled += await self._handle_batch(claimed)
                except asyncio.CancelledError:  # shutdown's grace is over: give back the rest
                    await self.release_claims()
                    raise
                finally:
                    heartbeat.cancel()
                    self._active -= batch
                    self._waiting -= batch  # a failure mid-batch: those claims just expire

    async def express(self) -> int:
        """People first, while a sweep is busy with a batch (a burst of reminders): the rows
        due the moment they were scheduled (a card, an answer, a review request) are claimed
        and handled at once, one by one in claim order, by a slot of their own beside the
        batch's CONCURRENCY, instead of waiting for the batch to finish; meanwhile the batch
        only finishes the sends it has in flight. Returns how many."""
        handled = 0
        while self._express_kicked and not self._stopping:
            self._express_kicked = False  # a kick while claiming: claim once more
            while claimed := await self._claim_express():
                handled += await self._handle_express(claimed)
        return handled

    async def _claim_express(self) -> list[Reminder]:
        if self._stopping:
            return []
        async with self.ctx.db.session() as session:
            return await reminder_store.claim_due(
                session, worker=self.worker, now=self.ctx.clock.now(), lease=self.lease,
                limit=EXPRESS_BATCH, people_first_only=True, kinds_except=self.alone)

    async def _handle_express(self, claimed: list[Reminder]) -> int:
        batch = {r.id for r in claimed if r.id is not None}
        self._waiting |= batch
        heartbeat = asyncio.create_task(self._heartbeat(), name="express heartbeat")
        self._no_express_work.clear()
        try:
            for reminder in claimed:
                self._waiting.discard(reminder.id or 0)
                self._active.add(reminder.id or 0)
                async with self._alone:
                    await self._handle(reminder)
                self._active.discard(reminder.id or 0)
        except asyncio.CancelledError:  # shutdown's grace is over: give back the rest
            await self.release_claims()
            raise
        finally:
            self._no_express_work.set()
            heartbeat.cancel()
            self._active -= batch
            self._waiting -= batch
        return len(claimed)

    async def _handle_batch(self, claimed: list[Reminder]) -> int:
        """The batch in claim order: first the `in_order` kinds one by one, then the others
        side by side, each row of an `alone` kind by itself between their runs."""
        handled, run = 0, []
        for reminder in [r for r in claimed if r.kind in self.in_order]:
            handled += await self._handle_side_by_side([reminder])
        for reminder in [r for r in claimed if r.kind not in self.in_order]:
            if reminder.kind not in self.alone:
                run.append(reminder)
                continue
            handled += await self._handle_side_by_side(run)
            async with self._alone:  # nor in the express slot
                handled += await self._handle_side_by_side([reminder])
            run = []
        return handled + await self._handle_side_by_side(run)

    async def _handle_side_by_side(self, claimed: list[Reminder]) -> int:
        """Rows of one change (or one recipient) in order, one after the other, since a
        thread note needs its card first; different ones side by side, `concurrency` at
        most, so one slow channel or a burst of reminders does not queue everything."""
        lanes: dict[object, list[Reminder]] = {}
        for reminder in claimed:
            lane = (("change", reminder.change_id) if reminder.change_id is not None
                    else ("to", reminder.recipient) if reminder.recipient
                    else ("row", reminder.id))
            lanes.setdefault(lane, []).append(reminder)
        slots = asyncio.Semaphore(self.concurrency)
        handled = 0

        async def run_lane(rows: list[Reminder]) -> None:
            nonlocal handled
            for reminder in rows:
                async with slots:
                    await self._no_express_work.wait()
                    self._waiting.discard(reminder.id or 0)
                    self._active.add(reminder.id or 0)
                    await self._handle(reminder)
                    self._active.discard(reminder.id or 0)
                    handled += 1

        if len(lanes) <= 1:
            await run_lane(claimed)
        else:
            async with asyncio.TaskGroup() as group:
                for rows in lanes.values():
                    group.create_task(run_lane(rows))
        return handled

    async def run_now(self, key: str) -> bool:
        """Handle the row `key` at once, beside any sweep (a person waits for it); False
        when it is not there to take (done, or another sweep or replica holds it)."""
        async with self.ctx.db.session() as session:
            reminder = await reminder_store.claim_key(
                session, key, worker=self.worker, now=self.ctx.clock.now(), lease=self.lease)
        if reminder is None:
            return False
        await self._handle(reminder)
        return True

    async def _heartbeat(self) -> None:
        while self._waiting or self._active:
            await asyncio.sleep(self.heartbeat_every)
            await self.renew_claims()

    async def renew_claims(self) -> int:
        """Extend the claims this process holds by a lease from now."""
        held = sorted(self._waiting | self._active)
        try:
            async with self.ctx.db.session() as session:
                return await reminder_store.renew(
                    session, held, worker=self.worker, until=self.ctx.clock.now() + self.lease,
                )
        except Exception as exc:  # the database hiccuped: the next beat tries again
            log.warning("could not renew the sweeper's claims: %r", exc)
            return 0

    async def release_claims(self) -> int:
        """Give back the claims not worked on yet, so another process sends them at once.
        The rows in flight keep their claims: Slack may have taken it, so it is retried (after
        a look for it, see post_once) only once the lease ends."""
        waiting, self._waiting = sorted(self._waiting), set()
        if not waiting:
            return 0
        try:
            async with self.ctx.db.session() as session:
                return await reminder_store.release(session, waiting, worker=self.worker)
        except Exception as exc:  # they will be taken over when the lease ends
            log.warning("could not release the sweeper's claims: %r", exc)
            return 0

    def check_payload(self, kind: str, payload: dict | None) -> None:
        """Raise ValidationError when the payload does not have its kind's shape."""
        known = self.kinds.get(kind)
        if known is not None:
            known.payload.model_validate(payload or {})

    async def _handle(self, reminder: Reminder) -> None:
        metrics = self.ctx.metrics.reminders
        known = self.kinds.get(reminder.kind)
        try:
            self.check_payload(reminder.kind, reminder.payload)
        except ValidationError as exc:  # never sent: recorded on the row, the sweep goes on
            log.warning("reminder %s (%s) has a bad payload: %s", reminder.key, reminder.kind,
                        exc)
            metrics.labels(reminder.kind, "failed").inc()
            await self._finish(reminder, sent=False,
                               note=f"bad payload: {exc.error_count()} error(s)")
            return
        try:
            if known is None:
                raise Skip(f"no handler for reminders of kind {reminder.kind!r}")
            # A send (a card rebuilt, a paced update) runs on the loop the answers need.
            await self.ctx.background.after_answers()
            await known.handler(self.ctx, reminder)
        except Skip as skip:
            await self._finish(reminder, sent=False, note=str(skip))
            metrics.labels(reminder.kind, "cancelled").inc()
        except NotYet as wait:
            await self._retry(reminder, wait.after, str(wait), count_attempt=False)
            metrics.labels(reminder.kind, "not_yet").inc()
        except Exception as exc:  # Slack down, a bug: keep the row and try again later
            log.warning("reminder %s (%s) failed: %r", reminder.key, reminder.kind, exc)
            metrics.labels(reminder.kind, "failed").inc()
            if reminder.attempts >= self.max_attempts:
                await self._finish(reminder, sent=False, note=f"gave up: {exc!r}")
                self.ctx.metrics.errors.labels(where="reminder").inc()
            else:
                await self._retry(reminder, backoff(reminder.attempts), repr(exc))
        else:
            await self._finish(reminder, sent=True)
            metrics.labels(reminder.kind, "sent").inc()

    async def _finish(self, reminder: Reminder, *, sent: bool, note: str | None = None) -> None:
        async with self.ctx.db.session() as session:
            await reminder_store.finish(
                session, reminder.id, worker=self.worker, now=self.ctx.clock.now(),
                sent=sent, note=note,
            )

    async def _retry(
        self, reminder: Reminder, after: timedelta, error: str, *, count_attempt: bool = True
    ) -> None:
        async with self.ctx.db.session() as session:
            await reminder_store.retry_later(
                session, reminder.id, worker=self.worker,
                retry_at=self.ctx.clock.now() + after, error=error,
                count_attempt=count_attempt,
            )

    def kick(self) -> None:
        """Run soon, in the background: something was just scheduled for now."""
        if self._stopping and not self._finishing:
            return
        self._kicked = True
        if not self._running:
            self._running = True
            self.ctx.background.spawn(self._run_kicked(), name="sweeper kick")
        if not self._lock.locked():
            return
        self._express_kicked = True  # a sweep is busy: what a person waits for goes now
        if not self._expressing:
            self._expressing = True
            self.ctx.background.spawn(self._run_express(), name="sweeper express")

    async def _run_express(self) -> None:
        try:
            await self.express()
        finally:
            self._expressing = False

    async def _run_kicked(self) -> None:
        answer_due(False)  # kicked by a request, but nobody waits on the sweep itself
        try:
            while self._kicked:
                self._kicked = False
                await self.run_once()
        finally:
            self._running = False

    def start(self, interval: float = 5.0) -> None:
        """Sweep at start (reminders due while we were down go out now), then at each next
        due time; the interval job is only a safety net. On PostgreSQL, a row scheduled by
        another replica wakes this one at once (NOTIFY, see reminder_store.listen)."""
        self._stopping = False
        self._finishing = False
        self.interval = interval
        self._scheduler = AsyncIOScheduler()
        self._scheduler.add_job(
            self._tick, "interval", seconds=interval, max_instances=1, coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.start()
        if self.ctx.db.url.startswith("postgresql"):
            self._listening = asyncio.create_task(self._listen(), name="sweeper listen")
        self.kick()

    def wake_in(self) -> float | None:
        """Seconds until the next row is due, by the injected clock (0: due now)."""
        if self.next_due is None:
            return None
        return max((self.next_due - self.ctx.clock.now()).total_seconds(), 0.0)

    def _plan_wake(self) -> None:
        """A one-off job at the next due time, when it comes before the next safety sweep."""
        delay = self.wake_in()
        if self._scheduler is None or self._stopping or delay is None or delay >= self.interval:
            return
        self._scheduler.add_job(
            self._tick, "date", run_date=datetime.now(UTC) + timedelta(seconds=delay),
            id="next-due", replace_existing=True, misfire_grace_time=None,
        )

    async def _listen(self) -> None:
        try:
            stop = await reminder_store.listen(self.ctx.db.url, self.kick)
        except Exception as exc:  # the safety sweeps still run
            log.warning("could not LISTEN for new reminders: %r", exc)
            return
        self.listening = True
        try:
            await asyncio.Event().wait()  # until stop() cancels it
        finally:
            self.listening = False
            await stop()

    async def _tick(self) -> None:
        # A coroutine on purpose: APScheduler's asyncio executor runs a plain function in a
        # worker thread, where kick() finds no event loop and the interval job never sweeps.
        self.kick()

    def stop(self, *, finishing: bool = False) -> None:
        """No new sweeps; one running goes on until shutdown's grace ends (see run_once).
        `finishing`: work still in flight may kick it yet (a card after a proposal that was
        being recorded), until it is stopped for good."""
        self._stopping = True
        self._finishing = finishing
        if self._listening is not None:
            self._listening.cancel()
            self._listening = None
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
