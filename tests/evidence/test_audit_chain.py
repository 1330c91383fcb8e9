"""The tamper-evident audit log: a hash chain that shows any edit, deletion or reordering,
and that two writers at once cannot fork."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.cli import main
from storage import audit_chain, repo
from storage.audit_rows import SNAPSHOT
from storage.db import Database
from storage.models import AuditEvent
from tests.conftest import WEDNESDAY_10AM
from tests.flows import click, propose


async def verify(db: Database, expect: str | None = None) -> audit_chain.Verdict:
    async with db.snapshot() as session:
        return await audit_chain.verify(session, expect=expect)


async def events(db: Database) -> list[AuditEvent]:
    async with db.session() as session:
        return list((await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all())


async def sql(db: Database, statement: str, **params) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def some_history(bot) -> list[AuditEvent]:
    """Real events through Slack: proposals, a refused self-approval, approvals, a rejection."""
    first = await propose(bot, "alice", risk="high")
    await click(bot, "alice", "change_approve", first)
    await click(bot, "bob", "change_approve", first)
    await click(bot, "carol", "change_approve", first)
    second = await propose(bot, "bob", title="Second change", reviewers=["U0CAROL"])
    await click(bot, "carol", "change_reject", second)
    await bot.submit("carol", bot.slack.opened_views()[-1], {"reason": "Not this week."})
    await bot.settle()
    return await events(bot.ctx.db)


async def quick_history(db: Database) -> list[AuditEvent]:
    """Seven events written as the use cases write them, in five transactions."""
    moments = [WEDNESDAY_10AM + timedelta(minutes=m) for m in range(7)]
    batches = [[("U0ALICE", "proposed")], [("U0ALICE", "self_approval_refused")],
               [("U0BOB", "approval_given"), ("changebot", "approved")],
               [("U0CAROL", "approval_given")], [("U0CAROL", "rejected"), ("U0BOB", "note")]]
    for batch in batches:
        async with db.session() as session:
            for actor, action in batch:
                await repo.add_audit(session, at=moments.pop(0), actor=actor, action=action,
                                     detail={"reason": "Not this week.", "revision": 1})
    return await events(db)


async def test_every_event_is_chained_to_the_one_before(bot):
    history = await some_history(bot)
    assert [e.action for e in history if e.action != SNAPSHOT] == [
        "proposed", "self_approval_refused", "approval_given", "approval_given", "approved",
        "proposed", "rejected",
    ]
    # Each write to the rows the evidence pack reads is chained beside the step's event.
    assert [(e.detail["table"], e.detail["op"]) for e in history if e.action == SNAPSHOT] == [
        ("changes", "insert"), ("approvals", "insert"), ("approvals", "insert"),
        ("changes", "update"), ("changes", "insert"), ("approvals", "insert"),
        ("changes", "update"),
    ]
    assert history[0].prev_hash == audit_chain.GENESIS
    for before, event in zip(history, history[1:], strict=False):
        assert event.prev_hash == before.hash
    assert all(event.hash == audit_chain.hash_of(event) for event in history)
    verdict = await verify(bot.ctx.db)
    assert verdict.intact and verdict.describe() == (
        f"intact: 14 events (head {history[-1].hash}); checked as plain SHA-256 "
        "(CHANGEBOT_AUDIT_KEY is not set)")


async def test_an_edited_event_breaks_the_chain_exactly_there(db):
    history = await quick_history(db)
    rejected = history[-1]
    await sql(db, "UPDATE audit_events SET actor = 'U0DAVE' WHERE id = :id",
              id=history[2].id)
    verdict = await verify(db)
    assert not verdict.intact
    assert verdict.broken_at == history[2].id and verdict.events == 2
    assert verdict.describe().startswith(
        f"broken at event #{history[2].id}: its content (approval_given by U0DAVE at "
    )
    assert "it was edited after it was written" in verdict.problem

    # Put it back, then rewrite a JSON detail instead: also caught, at that event.
    await sql(db, "UPDATE audit_events SET actor = 'U0BOB' WHERE id = :id",
              id=history[2].id)
    assert (await verify(db)).intact
    detail = "CAST(:d AS JSONB)" if not db.is_sqlite else ":d"
    await sql(db, f"UPDATE audit_events SET detail = {detail} WHERE id = :id",
              d='{"reason": "Fine by me.", "revision": 1}', id=rejected.id)
    verdict = await verify(db)
    assert verdict.broken_at == rejected.id and "edited" in verdict.problem


async def test_a_rewritten_hash_breaks_the_link_to_the_next_event(db):
    history = await quick_history(db)
    event = history[3]
    event.actor = "U0DAVE"
    forged = audit_chain.hash_of(event)  # the forger recomputes the event's own hash
    await sql(db, "UPDATE audit_events SET actor = 'U0DAVE', hash = :h WHERE id = :id",
              h=forged, id=event.id)
    verdict = await verify(db)
    assert verdict.broken_at == history[4].id
    assert f"#{event.id} was rewritten" in verdict.problem


async def test_a_deleted_event_is_found_at_its_successor(db):
    history = await quick_history(db)
    await sql(db, "DELETE FROM audit_events WHERE id = :id", id=history[3].id)
    verdict = await verify(db)
    assert verdict.broken_at == history[4].id
    assert f"is not the hash of the event before it (#{history[2].id}" in verdict.problem
    assert "deleted" in verdict.problem


async def test_deleting_the_first_events_is_found(db):
    history = await quick_history(db)
    await sql(db, "DELETE FROM audit_events WHERE id <= :id", id=history[1].id)
    verdict = await verify(db)
    assert verdict.broken_at == history[2].id
    assert "the events before it were deleted" in verdict.problem


async def test_reordered_events_are_found(db):
    history = await quick_history(db)
    a, b = history[2].id, history[3].id
    await sql(db, "UPDATE audit_events SET id = -1 WHERE id = :a", a=a)
    await sql(db, "UPDATE audit_events SET id = :a WHERE id = :b", a=a, b=b)
    await sql(db, "UPDATE audit_events SET id = :b WHERE id = -1", b=b)
    verdict = await verify(db)
    assert verdict.broken_at == a and "reordered" in verdict.problem


async def test_a_truncated_tail_is_found_against_an_exported_head(db):
    history = await quick_history(db)
    exported_head = history[-1].hash
    assert (await verify(db, expect=exported_head)).intact
    await sql(db, "DELETE FROM audit_events WHERE id = :id", id=history[-1].id)
    plain = await verify(db)
    assert plain.intact  # a shorter chain is a valid chain ...
    verdict = await verify(db, expect=exported_head)
    assert not verdict.intact  # ... but the pack's head is no longer in it
    assert "the expected head is not among them" in verdict.describe()


async def test_the_schema_refuses_a_fork(db):
    async with db.session() as session:
        first = await repo.add_audit(session, at=WEDNESDAY_10AM, actor="U0ALICE", action="a")
        await repo.add_audit(session, at=WEDNESDAY_10AM, actor="U0ALICE", action="b")
    fork = AuditEvent(at=WEDNESDAY_10AM, actor="U0MALLORY", action="c", detail={},
                      prev_hash=first.hash)
    fork.hash = audit_chain.hash_of(fork)
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(fork)
    assert (await verify(db)).describe().startswith("intact: 2 events")


async def test_two_processes_appending_at_once_keep_one_chain(database_url, db):
    """Two engines (as two bot processes would have), many transactions each, all at once."""
    engines = [Database(database_url), Database(database_url)]

    async def writer(database: Database, name: str, n: int) -> None:
        async with database.session() as session:
            for i in range(1 + n % 3):  # some transactions write several events
                await repo.add_audit(
                    session, at=WEDNESDAY_10AM + timedelta(seconds=n), actor=name,
                    action="concurrent", detail={"n": n, "i": i, "text": "é ✓"},
                )
            await asyncio.sleep(0)  # let the other writers try to get in

    try:
        await asyncio.gather(*(writer(engines[n % 2], f"W{n % 2}", n) for n in range(40)))
    finally:
        for engine in engines:
            await engine.dispose()
    written = await events(db)
    assert len(written) == sum(1 + n % 3 for n in range(40))
    assert {e.actor for e in written} == {"W0", "W1"}
    assert len({e.prev_hash for e in written}) == len(written)  # no two share a predecessor
    verdict = await verify(db)
    assert verdict.intact and verdict.events == len(written)


async def test_the_command_line_says_intact_or_names_the_first_broken_link(
    db, monkeypatch, tmp_path, capsys
):
    history = await quick_history(db)
    monkeypatch.chdir(tmp_path)  # no .env or changebot.toml of the developer's
    monkeypatch.setenv("DATABASE_URL", db.url)

    async def changebot(*args: str) -> int:
        return await asyncio.to_thread(main, list(args))  # main() runs its own event loop

    assert await changebot("audit", "verify") == 0
    assert capsys.readouterr().out == (
        f"intact: 7 events (head {history[-1].hash}); checked as plain SHA-256 "
        "(CHANGEBOT_AUDIT_KEY is not set)\n"
        "rows: 0 changes, 0 approvals, 0 deployments, 0 freezes: every one as the audit chain "
        "records it\n")

    await sql(db, "UPDATE audit_events SET action = 'approved' WHERE id = :id",
              id=history[1].id)  # hide the refused self-approval
    assert await changebot("audit", "verify") == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.startswith(
        f"broken at event #{history[1].id}: its content (approved by U0ALICE at ")


async def test_a_snapshot_sees_one_state_and_holds_no_writer_back(db):
    await quick_history(db)
    async with db.snapshot() as session:
        before = await audit_chain.chain_state(session)

        async def write() -> None:
            async with db.session() as writer:
                await repo.add_audit(writer, at=WEDNESDAY_10AM, actor="U0BOB", action="late")

        await asyncio.wait_for(write(), timeout=5)  # not blocked by the open snapshot
        assert await audit_chain.chain_state(session) == before  # and not seen by it
    async with db.snapshot() as session:
        assert (await audit_chain.chain_state(session))[1] == before[1] + 1
