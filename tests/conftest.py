"""Fixtures shared by the suite: a database, the fake Slack, and the bot served over HTTP."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.playground.standin.api import FakeSlack
from bot.playground.standin.workspace import demo_policy, seed
from bot.runtime.clock import ManualClock
from storage.db import Database
from storage.migrate import migrate
from tests.harness import BotHarness, start_bot

# A Wednesday, 10:00 UTC: inside the default business hours.
WEDNESDAY_10AM = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


async def reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def database_url(tmp_path) -> str:
    """SQLite in a temporary file, or the PostgreSQL of TEST_DATABASE_URL, emptied."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    await reset_postgres(url)
    return url


@pytest.fixture
async def db(database_url: str):
    database = Database(database_url)
    await migrate(database)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(WEDNESDAY_10AM)


@pytest.fixture
async def slack():
    fake = FakeSlack()
    seed(fake)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def policy():
    return demo_policy()


@pytest.fixture
async def bot(db, slack, clock, policy) -> BotHarness:
    harness = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    yield harness
    await harness.stop()
