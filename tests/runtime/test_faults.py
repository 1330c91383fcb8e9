"""Which failures a person is told are the database's: a refused or lost database
connection is; a TimeoutError or refused connection of Slack's or GitHub's (OSErrors too)
is not — it gets the plain "something went wrong"."""

from __future__ import annotations

import aiohttp
import asyncpg
import pytest

from bot.runtime.faults import database_unreachable
from storage.db import DatabaseUnreachable

CLOSED = "127.0.0.1:1"  # nothing listens there


async def caught(work) -> BaseException:
    with pytest.raises(Exception) as raised:
        await work
    return raised.value


async def test_a_refused_postgresql_connection_is_the_databases() -> None:
    error = await caught(asyncpg.connect(f"postgresql://postgres@{CLOSED}/test"))
    assert isinstance(error, OSError) and database_unreachable(error)


def test_no_connection_within_the_answer_timeout_is_the_databases() -> None:
    assert database_unreachable(DatabaseUnreachable("no connection within 2 s"))


async def test_a_refused_or_timed_out_http_call_is_not_the_databases() -> None:
    async with aiohttp.ClientSession() as http:
        refused = await caught(http.get(f"http://{CLOSED}/api/chat.postMessage"))
    assert isinstance(refused, OSError) and not database_unreachable(refused)

    async def slack_times_out() -> None:
        raise TimeoutError("Slack did not answer in 30 s")

    timed_out = await caught(slack_times_out())
    assert isinstance(timed_out, OSError) and not database_unreachable(timed_out)
