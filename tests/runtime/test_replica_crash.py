"""Two real `changebot serve` replicas on one database, one SIGKILLed in the middle of a
burst of due messages while Slack answers slowly: every message goes out exactly once, and
what the dead replica had claimed is sent by the survivor as soon as its lease ends.

The lease is shortened through its setting (CHANGEBOT_CLAIM_LEASE_SECONDS) so the test is
quick; the default's bound (20 s lease + a 5 s sweep, under 30 s) is argued in
tests/runtime/test_sweeper_lease.py on the injected clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from sqlmodel import col, select

from bot.slack.outbox import METADATA_TYPE
from storage import reminder_store
from storage.models import Reminder
from tests.served import ServedBot

LEASE_SECONDS = 3  # short for the test; renewed every 0.75 s while a replica works
PEOPLE = 16  # recipients: one DM lane each, so the replicas send side by side
PER_PERSON = 3
SLOW_SLACK = 0.4  # seconds Slack takes to answer each chat.postMessage
TAKEOVER_DEADLINE = 30.0  # seconds after the kill by which everything is out


async def _schedule_burst(db, now: datetime) -> list[str]:
    keys = []
    async with db.session() as session:
        for n in range(PEOPLE * PER_PERSON):
            key = f"burst-{n}"
            await reminder_store.schedule(
                session, key=key, kind="dm", due_at=now, now=now,
                recipient=f"U0P{n % PEOPLE:02d}",
                payload={"text": f"Your monitoring window of CHG-{n} has ended.",
                         "link_card": False})
            keys.append(key)
    return keys


async def _rows(db) -> list[Reminder]:
    """The burst's rows (the replicas schedule rows of their own, e.g. audit checkpoints)."""
    async with db.snapshot() as session:
        query = select(Reminder).where(col(Reminder.key).startswith("burst-"))
        return list((await session.exec(query)).all())


def _pid(worker: str | None) -> int | None:
    """The process id in a sweeper's worker name (host:pid:object)."""
    return int(worker.split(":")[1]) if worker else None


def _open_claims(rows: list[Reminder], now: datetime) -> Counter[int]:
    """How many rows each process holds and has not sent yet."""
    return Counter(
        _pid(r.claimed_by) for r in rows  # type: ignore[misc]
        if r.sent_at is None and r.claimed_by and r.claimed_until
        and r.claimed_until.replace(tzinfo=UTC) > now)


def _posts_by_key(slack) -> Counter[str]:
    """Messages Slack accepted, counted by the key the bot put in their metadata."""
    counted: Counter[str] = Counter()
    for call in slack.calls_to("chat.postMessage"):
        metadata = call.args.get("metadata") or {}
        if call.ok and metadata.get("event_type") == METADATA_TYPE:
            counted[metadata["event_payload"]["key"]] += 1
    return counted


async def test_a_replica_killed_mid_burst_loses_nothing_and_doubles_nothing(
        slack, db, tmp_path):
    for n in range(PEOPLE):
        slack.add_user(f"U0P{n:02d}", f"person{n:02d}")
    env = {"CHANGEBOT_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS)}
    replicas = [ServedBot(slack=slack, database_url=db.url, workdir=tmp_path / name,
                          env=env, name=name) for name in ("one", "two")]
    try:
        await asyncio.gather(*(replica.start() for replica in replicas))
        slack.delay("chat.postMessage", SLOW_SLACK)
        keys = await _schedule_burst(db, datetime.now(UTC))

        # Mid-burst: posts are in flight; kill a replica that holds claims.
        await slack.wait_for("chat.postMessage", count=PEOPLE // 2, timeout=20)
        holding = _open_claims(await _rows(db), datetime.now(UTC))
        victim = next(r for r in replicas if holding[r.process.pid] > 0)
        survivor = next(r for r in replicas if r is not victim)
        await victim.kill()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TAKEOVER_DEADLINE

        orphans = {r.key for r in await _rows(db)
                   if r.sent_at is None and _pid(r.claimed_by) == victim.process.pid}
        assert orphans, "the killed replica held no claims: nothing was tested"

        rows = await _rows(db)
        while any(r.sent_at is None for r in rows) and loop.time() < deadline:
            await asyncio.sleep(0.1)
            rows = await _rows(db)
        unsent = sorted(r.key for r in rows if r.sent_at is None)
        assert not unsent, (f"{len(unsent)} not sent {TAKEOVER_DEADLINE}s after the kill: "
                            f"{unsent}\n{survivor.log()}")
        taken_over = {r.key: _pid(r.claimed_by) for r in rows if r.key in orphans}
        assert set(taken_over.values()) == {survivor.process.pid}, taken_over

        posted = _posts_by_key(slack)
        assert {key: posted[key] for key in keys if posted[key] != 1} == {}
        for n in range(PEOPLE):  # and what the people see: each message once
            texts = [m["text"] for m in slack.dms(f"U0P{n:02d}")]
            assert len(texts) == len(set(texts)) == PER_PERSON, texts
        assert await survivor.stop() == 0, survivor.log()
    finally:
        slack.delay("chat.postMessage", 0)
        for replica in replicas:
            await replica.close()

