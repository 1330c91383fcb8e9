"""Evidence nobody can quietly edit: `changebot audit verify` finds every write to the rows
the evidence pack reads that is not in the chain, a chain rewritten without the key, and
(with the checkpoints witnessed in Slack) a truncated or rewritten chain."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from bot.cli import main
from bot.evidence import witness
from bot.playground.standin.workspace import CHANGES
from storage import audit_chain
from storage.audit_rows import SNAPSHOT
from storage.db import Database
from storage.models import AuditEvent, Deployment
from tests.evidence_history import approve, at, declare_emergency, modal, wait_until
from tests.flows import PRODUCTION_CHECKS, click, last_answer
from tests.harness import start_bot

KEY = "correct horse battery staple"


async def sql(db: Database, statement: str, **params) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def chain(db: Database) -> list[AuditEvent]:
    async with db.session() as session:
        return list((await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all())


async def emergency_deployed(bot) -> int:
    """An emergency deployed from Slack at 02:10 without an approval, and a production
    deployment GitHub reported that matches no change."""
    await wait_until(bot, at(28, 2))
    change_id = await declare_emergency(bot, "alice", {
        "impact": "Card payments failing.", "description": "Hotfix: null amounts",
        "rollback_plan": "Revert.", "pr_url": None, "involved": []})
    await modal(bot, "alice", "change_deploy", change_id, at(28, 2, 10),
                {"method": "rolling", "notes": None})
    async with bot.ctx.db.session() as session:
        session.add(Deployment(github_deployment_id=901, repo="acme/api",
                               environment="production", sha="c0ffee", creator="mallory",
                               at=at(28, 3)))
    return change_id


@pytest.fixture
def changebot(monkeypatch, tmp_path, capsys, bot) -> Callable:
    """`changebot audit verify ...` as an operator runs it, on the bot's database and Slack."""
    monkeypatch.chdir(tmp_path)  # no .env or changebot.toml of the developer's
    monkeypatch.setenv("DATABASE_URL", bot.ctx.db.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", bot.slack.base_url)
    monkeypatch.setenv("CHANGEBOT_CHANNELS__CHANGES", CHANGES)

    async def run(*args: str, key: str | None = None) -> tuple[int, str, str]:
        if key:
            monkeypatch.setenv("CHANGEBOT_AUDIT_KEY", key)
        else:
            monkeypatch.delenv("CHANGEBOT_AUDIT_KEY", raising=False)
        capsys.readouterr()
        code = await asyncio.to_thread(main, ["audit", "verify", *args])
        printed = capsys.readouterr()
        return code, printed.out, printed.err

    return run


@pytest.fixture
async def keyed_bot(db, slack, clock, policy):
    harness = await start_bot(db=db, slack=slack, clock=clock, policy=policy,
                              settings={"changebot_audit_key": KEY})
    yield harness
    await harness.stop()


async def test_an_intact_log_with_its_rows_says_so(bot, changebot):
    await emergency_deployed(bot)
    code, out, err = await changebot()
    assert (code, err) == (0, "")
    assert out.splitlines()[1] == ("rows: 1 changes, 0 approvals, 1 deployments, 0 freezes: "
                                   "every one as the audit chain records it")


async def test_an_approval_inserted_before_the_deployment_is_named(bot, changebot):
    """The reproduction: an approval dated before an unapproved emergency's deployment
    removed its exception and made segregation of duties pass; verify said intact."""
    change_id = await emergency_deployed(bot)
    await sql(bot.ctx.db, "INSERT INTO approvals (change_id, revision, kind, decision, actor, "
              "user_id, source, tech_lead, reason, created_at) VALUES (:c, 1, 'peer', "
              "'approved', 'U0BOB', 'U0BOB', 'slack', false, '', :t)",
              c=change_id, t=at(28, 2, 5).replace(tzinfo=None))
    code, out, err = await changebot()
    assert (code, out) == (1, "")
    assert "rows: 1 changes, 1 approvals, 1 deployments, 0 freezes: 1 problem(s)" in err
    assert ("  - approvals #1: it was inserted outside the audit chain (no snapshot records it)"
            in err.splitlines())


async def test_cleared_exceptions_and_a_deleted_deployment_are_named(bot, changebot):
    change_id = await emergency_deployed(bot)
    await sql(bot.ctx.db, "UPDATE changes SET deploy_exceptions = :e, deployed_by = 'U0BOB' "
              "WHERE id = :c", e=json.dumps(["ci: skipped"]), c=change_id)
    await sql(bot.ctx.db, "DELETE FROM deployments WHERE github_deployment_id = 901")
    code, _, err = await changebot()
    assert code == 1
    lines = err.splitlines()
    assert any(line.startswith(f"  - changes #{change_id}, field deploy_exceptions: edited "
                               'outside the audit chain: the database holds ["ci: skipped"], '
                               "the chain [] (event #") for line in lines), err
    assert any(line.startswith(f"  - changes #{change_id}, field deployed_by: edited outside "
                               'the audit chain: the database holds "U0BOB", the chain '
                               '"U0ALICE"') for line in lines), err
    assert any(line.startswith("  - deployments #1: it was deleted outside the audit chain "
                               "(last recorded by event #") for line in lines), err


def rewrite(events: list[AuditEvent], start: int, key: bytes | None,
            edit: Callable[[AuditEvent], None]) -> list[AuditEvent]:
    """What a forger does: edit one event and recompute every hash from it to the head."""
    previous = events[start - 1].hash if start else audit_chain.GENESIS
    for index, event in enumerate(events[start:]):
        if index == 0:
            edit(event)
        event.prev_hash = previous
        event.hash = audit_chain.hash_of(event, key)
        previous = event.hash
    return events[start:]


async def store(db: Database, events: list[AuditEvent]) -> None:
    for event in events:
        await sql(db, "UPDATE audit_events SET actor = :a, prev_hash = :p, hash = :h "
                  "WHERE id = :id", a=event.actor, p=event.prev_hash, h=event.hash, id=event.id)


def blame_bob(event: AuditEvent) -> None:
    event.actor = "U0BOB"


async def test_without_the_key_a_keyed_chain_cannot_be_rewritten(keyed_bot, db, changebot):
    await emergency_deployed(keyed_bot)
    code, out, _ = await changebot(key=KEY)
    assert code == 0
    assert "; HMAC-SHA256 with CHANGEBOT_AUDIT_KEY throughout" in out.splitlines()[0]
    # Without the key, the events cannot be checked: verify says why.
    code, _, err = await changebot()
    assert code == 1 and "sealed with CHANGEBOT_AUDIT_KEY, which is not set here" in err

    events = await chain(db)
    middle = len(events) // 2
    await store(db, rewrite(events, middle, None, blame_bob))  # the tail, plain
    code, _, err = await changebot(key=KEY)
    assert code == 1
    assert err.startswith(f"broken at event #{events[middle].id}: it is plain SHA-256 after "
                          f"HMAC-SHA256 events (from #{events[0].id}): it was written without "
                          "CHANGEBOT_AUDIT_KEY, or rewritten by someone without it")

    await store(db, rewrite(events, 0, None, blame_bob))  # the whole chain, plain
    code, _, err = await changebot(key=KEY)
    assert code == 1
    assert err.startswith(f"not verified: CHANGEBOT_AUDIT_KEY is set but none of the "
                          f"{len(events)} events carries its HMAC")


async def test_a_chain_that_gets_its_key_later_says_where(db, slack, clock, policy, bot,
                                                          changebot):
    await emergency_deployed(bot)  # plain
    last_plain = (await chain(db))[-1].id
    keyed = await start_bot(db=db, slack=slack, clock=clock, policy=policy,
                            settings={"changebot_audit_key": KEY})
    try:
        await modal(keyed, "alice", "change_verify", 1, at(28, 3, 15),
                    {"checks": PRODUCTION_CHECKS, "notes": None})
    finally:
        await keyed.stop()
    code, out, _ = await changebot(key=KEY)
    assert code == 0
    assert out.splitlines()[0].endswith(
        f"; plain SHA-256 up to event #{last_plain}, then HMAC-SHA256 with "
        f"CHANGEBOT_AUDIT_KEY from event #{last_plain + 1}")


async def checkpointed(bot) -> list[dict]:
    """The scheduled checkpoint falls due and is posted to the audit channel."""
    await witness.keep_scheduled(bot.ctx)
    await wait_until(bot, at(28, 4))
    return [m for m in bot.slack.messages(CHANGES)
            if (m.get("metadata") or {}).get("event_type") == witness.METADATA_TYPE]


async def test_a_truncated_tail_is_found_by_the_witness_where_the_exported_head_misses_it(
    bot, db, changebot
):
    await wait_until(bot, at(28, 1))
    await declare_emergency(bot, "bob", {
        "impact": "Login down.", "description": "Restart", "rollback_plan": "None.",
        "pr_url": None, "involved": []})
    exported = (await chain(db))[-1].hash  # named by a pack exported then
    change_id = await emergency_deployed(bot)
    await wait_until(bot, at(28, 3, 30))
    await click(bot, "carol", "change_approve", change_id)
    [posted] = await checkpointed(bot)
    events = await chain(db)
    [record] = [i for i, e in enumerate(events) if e.action == witness.CHECKPOINT]
    witnessed = events[record - 1]  # the chain records where the checkpoint was posted
    assert events[record].detail == {"head": witnessed.hash, "events": record,
                                     "channel": CHANGES, "ts": posted["ts"],
                                     "why": "scheduled"}
    assert posted["text"].startswith(f":lock: Audit checkpoint (scheduled): {record} events, "
                                     f"head `{witnessed.hash}` at 2026-11-28 04:00 UTC")
    assert posted["metadata"]["event_payload"] == {
        "head": witnessed.hash, "events": record, "at": at(28, 4).isoformat()}

    # Cut the tail from the witnessed event (a step, not a row snapshot).
    assert witnessed.action != SNAPSHOT
    assert all(e.action != SNAPSHOT for e in events[record:])
    await sql(db, "DELETE FROM audit_events WHERE id >= :id", id=witnessed.id)
    code, out, _ = await changebot("--expect-head", exported)
    assert code == 0 and out.startswith(f"intact: {record - 1} events")  # missed
    code, _, err = await changebot("--witness", "slack")
    assert code == 1
    assert (f"  - the checkpoint of {at(28, 4).isoformat()} ({record} events, head "
            f"{witnessed.hash}) counted more events than the chain now holds "
            f"({record - 1}): events were deleted from its tail") in err.splitlines()


async def test_a_chain_rewritten_with_the_key_is_found_by_the_witness(keyed_bot, db,
                                                                      changebot):
    await emergency_deployed(keyed_bot)
    await checkpointed(keyed_bot)
    code, out, _ = await changebot("--witness", "slack", key=KEY)
    assert code == 0 and "witness: 1 checkpoint(s) in Slack, every one in the chain" in out
    events = await chain(db)
    await store(db, rewrite(events, 2, KEY.encode(), blame_bob))  # the forger has the key
    code, _, err = await changebot(key=KEY)
    assert code == 0  # on its own, a chain rewritten with the key checks out ...
    code, _, err = await changebot("--witness", "slack", key=KEY)
    assert code == 1  # ... but not against what Slack saw
    assert "that head is not in the chain: the events up to it were deleted or rewritten" in err


async def test_a_witness_channel_the_bot_cannot_read_is_one_line_and_exit_3(
    bot, changebot, monkeypatch
):
    monkeypatch.setenv("CHANGEBOT_CHANNELS__AUDIT", "C0NOWHERE")
    code, out, err = await changebot("--witness", "slack")
    assert (code, out) == (3, "")
    assert err == ("changebot audit verify: cannot read the audit channel C0NOWHERE in Slack "
                   "(channel_not_found): invite the bot to it and give it the "
                   "channels:history (groups:history if private) scope\n")


async def test_a_missing_or_unmigrated_database_is_one_line_and_exit_2(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nothing.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    assert await asyncio.to_thread(main, ["audit", "verify"]) == 2
    assert capsys.readouterr().err == (f"changebot audit verify: no database at {missing} "
                                       "(DATABASE_URL): nothing to verify\n")
    assert not missing.exists()
    missing.touch()  # a database without the schema
    assert await asyncio.to_thread(main, ["audit", "verify"]) == 2
    assert capsys.readouterr().err == ("changebot audit verify: the database has no "
                                       "Changebot schema: run `changebot migrate` first\n")


async def test_rows_written_before_the_upgrade_are_chained_by_it(database_url):
    from bot.evidence import verification
    from storage.migrate import migrate

    db = Database(database_url, audit_key=KEY.encode())
    try:
        await migrate(db, "issue8_audit_chain")
        await sql(db, "INSERT INTO changes (title, description, category, risk, rollback_plan, "
                  "testing, security_notes, security_checkboxes, reviewers, impact, involved, "
                  "author_id, status, revision, created_at, updated_at, security_required, "
                  "security_triggers, pr_info, ci_state, ci_detail, staging_validation, "
                  "deploy_exceptions, verification, rollback, retrospective) VALUES ('Old', "
                  "'', 'normal', 'low', '', '', '', '[]', '[]', '', '[]', 'U0ALICE', "
                  "'completed', 1, :t, :t, false, '[]', '{}', 'none', '{}', '{}', '[]', '{}', "
                  "'{}', '{}')", t=at(1, 9).replace(tzinfo=None))
        await migrate(db)
        report = await verification.verify(db, key=KEY.encode())
        assert report.intact, report.lines()
        assert report.lines()[0].endswith("HMAC-SHA256 with CHANGEBOT_AUDIT_KEY throughout")
        assert report.lines()[1].startswith("rows: 1 changes, 0 approvals, 0 deployments, "
                                            "0 freezes: every one as the audit chain "
                                            "records it")
    finally:
        await db.dispose()


def copy_row(table: str, columns: list[str], overrides: dict[str, str]) -> str:
    """SQL inserting a copy of row :id of `table` (a new id; unique columns overridden)."""
    kept = [c for c in columns if c != "id"]
    values = [overrides.get(c, c) for c in kept]
    return (f"INSERT INTO {table} ({', '.join(kept)}) SELECT {', '.join(values)} FROM {table} "
            "WHERE id = :id")


TAMPERING = [
    ("changes", "edit", "UPDATE changes SET risk = 'low' WHERE id = :id", "risk"),
    ("changes", "insert", None, {"source_key": "NULL"}),
    ("approvals", "edit", "UPDATE approvals SET decision = 'rejected' WHERE id = :id",
     "decision"),
    ("approvals", "insert", None, {"actor": "'U0MALLORY'", "user_id": "'U0MALLORY'"}),
    ("approvals", "delete", "DELETE FROM approvals WHERE id = :id", None),
    ("deployments", "edit", "UPDATE deployments SET sha = 'feedface' WHERE id = :id", "sha"),
    ("deployments", "insert", None, {"github_deployment_id": "github_deployment_id + 1"}),
    ("deployments", "delete", "DELETE FROM deployments WHERE id = :id", None),
    # A declared freeze says which deployments broke one: lifting it early on the quiet, or
    # deleting it, would take them out of the pack.
    ("freezes", "edit", "UPDATE freezes SET lifted_at = starts_at WHERE id = :id",
     "lifted_at"),
    ("freezes", "insert", None, {}),
    ("freezes", "delete", "DELETE FROM freezes WHERE id = :id", None),
]


@pytest.mark.parametrize(("table", "how", "statement", "detail"), TAMPERING,
                         ids=[f"{t}-{h}" for t, h, _, _ in TAMPERING])
async def test_every_write_outside_the_chain_is_named_with_its_row(
    bot, changebot, table, how, statement, detail
):
    """Each table the pack reads, edited, inserted into, deleted from behind the bot's back
    (a change is not deleted: its audit events hold it, and deleting them breaks the chain)."""
    from storage.audit_rows import MODELS, table_of

    change_id = await emergency_deployed(bot)
    await approve(bot, "bob", change_id, at(28, 2, 30))
    if table == "freezes":
        assert (await bot.command("dave", "freeze now 2026-11-30 quarter end")).status == 200
        await bot.settle()
        assert last_answer(bot, "dave").startswith("FRZ-1 is declared")
    db = bot.ctx.db
    if how == "insert":
        every = [c.name for c in table_of(MODELS[table]).columns]
        await sql(db, copy_row(table, every, detail), id=1)
        async with db.engine.connect() as conn:
            row_id = (await conn.execute(text(f"SELECT max(id) FROM {table}"))).scalar()
        expected = f"  - {table} #{row_id}: it was inserted outside the audit chain"
    else:
        await sql(db, statement, id=1)
        expected = (f"  - {table} #1, field {detail}: edited outside the audit chain"
                    if how == "edit" else
                    f"  - {table} #1: it was deleted outside the audit chain (last recorded")
    code, out, err = await changebot()
    assert (code, out) == (1, "")
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(problems) == 1 and problems[0].startswith(expected), err
