"""Ack latency, start-up and idle memory of the bot served as `changebot serve`.

Three processes beside this one: the Slack stand-in (bench.fake_slack), a bare Bolt app
(bench.bare_bolt) and `changebot serve`, on a fresh database (SQLite, or DATABASE_URL).
Rounds of `concurrency` signed requests sent at once go in turn to the bare app and to the
bot (`/change help`, `/change new`, Approve on a card); before each round both are idle
(no CPU used for 0.2 s), so a round's own work after the answers is what competes with its
acks. Each request's latency is from its send to its answer's last byte.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time
from collections.abc import Callable

import aiohttp
from sqlalchemy import insert, text

from bench.served import (
    changebot_env,
    cpu_ticks,
    free_port,
    rss_mb,
    spawn,
    start_changebot,
    stop,
    until_idle,
    wait_http,
)
from bench.serving import percentile
from bot.playground.standin import requests as slack_requests
from bot.playground.standin.workspace import ALICE, BOB, CHANGES, Person
from storage.db import Database
from storage.models import Change
from tests.harness import SIGNING_SECRET

TARGETS = ("bare Bolt", "/change help", "/change new", "card button")


def _command(person: Person, text: str, response_url: str) -> str:
    return slack_requests.slash_command_body(
        user=person.id, user_name=person.name, text=text, channel=CHANGES,
        channel_name="changes", trigger_id=slack_requests.new_trigger_id(),
        response_url=response_url)


def _approve(response_url: str) -> str:
    card = {"ts": "1700000000.000100", "text": "CHG-1", "blocks": [{
        "type": "actions", "block_id": "change_actions", "elements": [{
            "type": "button", "action_id": "change_approve", "value": "1:r1",
            "text": {"type": "plain_text", "text": "Approve"}}]}]}
    return slack_requests.interactive_body(slack_requests.block_actions_payload(
        user=BOB.id, user_name=BOB.name, action_id="change_approve",
        trigger_id=slack_requests.new_trigger_id(), message=card, channel=CHANGES,
        response_url=response_url))


async def _round(http: aiohttp.ClientSession, url: str, bodies: list[str]) -> list[float]:
    """Send every body at once; each one's seconds until its answer was read."""
    signed = [(body, slack_requests.sign(SIGNING_SECRET, body)) for body in bodies]

    async def one(body: str, signature: dict[str, str]) -> float:
        started = time.perf_counter()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **signature}
        async with http.post(url, data=body.encode(), headers=headers) as reply:
            await reply.read()
            if reply.status != 200:
                raise RuntimeError(f"{url} answered {reply.status}")
        return time.perf_counter() - started

    # The measuring process's own collector (its heap is large after the seeded parts) must
    # not pause in the middle of a round: that would be charged to whichever target it hit.
    gc.disable()
    try:
        return list(await asyncio.gather(*(one(b, s) for b, s in signed)))
    finally:
        gc.enable()


async def _seed_change(db_url: str) -> None:
    """CHG-1, in review, for the Approve button (alice's; bob approves)."""
    from bench.at_scale import change_row

    db = Database(db_url)  # migrated by the bot's first start
    try:
        async with db.engine.begin() as conn:
            await conn.execute(insert(Change), [change_row(1, True) | {"author_id": ALICE.id}])
    finally:
        await db.dispose()


async def measure(db_url: str, folder: str, *, rounds: int, concurrency: int,
                  say: Callable[[str], None] = print) -> dict[str, float]:
    """The figures: start-up (fresh database, then a restart), idle RSS, and each target's
    ack p50/p99 with its ratio to the bare app's."""
    figures: dict[str, float] = {}
    slack = spawn("bench.fake_slack", "--responses", str((rounds + 1) * concurrency * 3 + 10),
                  pipe=True)
    bare_port, bot_port = free_port(), free_port()
    bare = spawn("bench.bare_bolt", "--port", str(bare_port))
    bot = None
    try:
        stand_in = json.loads(slack.stdout.readline())  # type: ignore[union-attr]
        responses = iter(stand_in["response_urls"])
        env = changebot_env(stand_in["base_url"], db_url)
        await _drop(db_url)
        first, figures["start-up, new database (s)"] = await start_changebot(bot_port, env,
                                                                              folder)
        stop(first)
        await _seed_change(db_url)
        bot, figures["start-up (s)"] = await start_changebot(bot_port, env, folder)
        figures["start-up CPU (s)"] = cpu_ticks(bot.pid) / os.sysconf("SC_CLK_TCK")
        await wait_http(f"http://127.0.0.1:{bare_port}/healthz", bare)
        await asyncio.sleep(1.0)
        figures["idle RSS (MB)"] = rss_mb(bot.pid)
        say(f"  started in {figures['start-up (s)']:.2f} s "
            f"({figures['start-up CPU (s)']:.2f} s of CPU) "
            f"(new database: {figures['start-up, new database (s)']:.2f} s), "
            f"idle RSS {figures['idle RSS (MB)']:.0f} MB")
        makers: dict[str, tuple[int, Callable[[], str]]] = {
            "bare Bolt": (bare_port, lambda: _command(ALICE, "help", "")),
            "/change help": (bot_port, lambda: _command(ALICE, "help", next(responses))),
            "/change new": (bot_port, lambda: _command(ALICE, "new", next(responses))),
            "card button": (bot_port, lambda: _approve(next(responses))),
        }
        latencies: dict[str, list[float]] = {name: [] for name in TARGETS}
        connector = aiohttp.TCPConnector(limit=0)
        gc.collect()
        gc.freeze()
        async with aiohttp.ClientSession(connector=connector) as http:
            for n in range(rounds + 1):  # the first round warms up and is not counted
                order = TARGETS[n % len(TARGETS):] + TARGETS[:n % len(TARGETS)]
                for name in order:
                    port, make = makers[name]
                    await until_idle(bot.pid)
                    await until_idle(bare.pid)
                    taken = await _round(http, f"http://127.0.0.1:{port}/slack/events",
                                         [make() for _ in range(concurrency)])
                    if n:
                        latencies[name].extend(taken)
        bare_p99 = percentile(latencies["bare Bolt"], .99)
        for name in TARGETS:
            p50, p99 = percentile(latencies[name], .5), percentile(latencies[name], .99)
            figures[f"{name} ack p50 (ms)"] = p50 * 1000
            figures[f"{name} ack p99 (ms)"] = p99 * 1000
            figures[f"{name} ack ratio"] = p99 / bare_p99
            say(f"  {name}: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
                f"({p99 / bare_p99:.2f}x the bare app)")
        figures["RSS after the rounds (MB)"] = rss_mb(bot.pid)
    finally:
        for process in (bot, bare, slack):
            if process is not None:
                stop(process)
    return figures


async def _drop(db_url: str) -> None:
    """An empty database for the first start (the bot migrates it)."""
    if db_url.startswith("postgresql"):
        db = Database(db_url)
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await db.dispose()
