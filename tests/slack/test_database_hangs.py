"""A database that hangs — it accepts the connection and never answers — or, on SQLite, one
whose write lock another process holds: every command and click is still answered with the
database-down sentence, and /healthz says 503. Nothing waits for the database longer than
its answer timeout (DATABASE_ANSWER_TIMEOUT, shortened here so the test is quick); the
suite's timeout is what fails a test that hangs."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from bot.app import database
from bot.playground.standin.workspace import CHANGES
from handlers.common import DATABASE_DOWN
from tests.flows import PROPOSAL, card, open_modal, propose
from tests.slack.test_bad_input import _click_value, answers

pytestmark = pytest.mark.timeout(60)

ANSWER_TIMEOUT = 0.5  # seconds; the default (2 s) leaves Slack's 3 s room for the answer


@contextlib.asynccontextmanager
async def hanging_server() -> AsyncIterator[int]:
    """A PostgreSQL that hangs: it accepts TCP connections on 127.0.0.1 and never says a
    word. Yields its port."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):  # read what the client sends, answer nothing
            pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def _use(bot, url: str) -> None:
    """From now on the bot's database is at `url`, with a short answer timeout."""
    settings = bot.ctx.settings.model_copy(
        update={"database_url": url, "database_answer_timeout": ANSWER_TIMEOUT})
    await bot.ctx.db.dispose()
    bot.ctx.db = database(settings, now=bot.clock.now)


async def _everything_says_the_database_is_down(bot, change_id: int, view: dict) -> None:
    assert (await bot.post_get("/healthz")).status == 503
    for text in ("list", "show CHG-1", "list overdue"):
        reply = await bot.command("alice", text)
        assert reply.status == 200, (text, reply.text)
        await bot.settle()
        assert answers(bot)[-1] == DATABASE_DOWN, text
    message = card(bot, change_id)
    for action_id, chosen in (("change_approve", None), ("change_reject", None),
                              ("change_more", f"{change_id}:change_cancel")):
        reply = await bot.click("bob", action_id, channel=CHANGES, message=message,
                                selected=chosen)
        assert reply.status == 200, (action_id, reply.text)
        await bot.settle()
        assert answers(bot, "bob")[-1] == DATABASE_DOWN, action_id
    await _click_value(bot, "change_history", str(change_id))
    assert answers(bot, "bob")[-1] == DATABASE_DOWN
    reply = await bot.submit("alice", view, PROPOSAL)
    assert reply.status == 200
    assert reply.json() == {"response_action": "errors", "errors": {"title": DATABASE_DOWN}}


async def test_a_database_that_hangs_gets_every_command_and_click_answered(bot):
    change_id = await propose(bot)
    view = await open_modal(bot, "alice")
    async with hanging_server() as port:
        await _use(bot, f"postgresql+asyncpg://postgres@127.0.0.1:{port}/changebot")
        await _everything_says_the_database_is_down(bot, change_id, view)
        await bot.ctx.db.dispose()


async def test_a_locked_sqlite_database_gets_every_command_and_click_answered(bot):
    if not bot.ctx.db.is_sqlite:
        pytest.skip("SQLite's lock; PostgreSQL's hang is the test above")
    change_id = await propose(bot)
    view = await open_modal(bot, "alice")
    await _use(bot, bot.ctx.db.url)
    locker = sqlite3.connect(make_url(bot.ctx.db.url).database, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")  # another process writing, and never finishing
        await _everything_says_the_database_is_down(bot, change_id, view)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    reply = await bot.command("alice", "list")  # the lock is gone: the bot answers again
    await bot.settle()
    assert answers(bot)[-1] != DATABASE_DOWN
    assert reply.status == 200
