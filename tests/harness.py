"""Drives the really served bot the way Slack does: signed HTTP requests to /slack/events."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import create_bolt_app, create_context, create_web_app, database, identify
from bot.context import Context
from bot.playground.standin import requests as slack_requests
from bot.playground.standin.api import FakeSlack
from bot.playground.standin.workspace import person
from bot.policy import Policy
from bot.runtime.clock import ManualClock
from bot.settings import Config, Settings
from storage.db import Database

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"


@dataclass
class Reply:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class SlackRequests:
    """Signed requests to a bot served at `url`, as Slack sends them: commands, events,
    clicks, modal submissions (the in-process BotHarness and tests/served.py's process)."""

    def __init__(self, url: str, slack: FakeSlack) -> None:
        self.url = url
        self.slack = slack
        self.http = aiohttp.ClientSession()

    async def post(self, path: str, body: str, headers: dict[str, str]) -> Reply:
        async with self.http.post(self.url + path, data=body.encode(), headers=headers) as r:
            return Reply(r.status, await r.text())

    async def post_get(self, path: str) -> Reply:
        async with self.http.get(self.url + path) as r:
            return Reply(r.status, await r.text())

    async def signed(self, body: str, content_type: str, **sign_args) -> Reply:
        headers = {"Content-Type": content_type,
                   **slack_requests.sign(SIGNING_SECRET, body, **sign_args)}
        return await self.post("/slack/events", body, headers)

    async def command(self, user: str, text: str, channel: str = "C0CHANGES") -> Reply:
        who = person(user)
        body = slack_requests.slash_command_body(
            user=who.id, user_name=who.name, text=text, channel=channel,
            channel_name=channel.lower(), trigger_id=slack_requests.new_trigger_id(),
            response_url=self.slack.response_url(user=who.id, channel=channel),
        )
        return await self.signed(body, "application/x-www-form-urlencoded")

    async def event(self, event: dict, **headers: str) -> Reply:
        body = json.dumps(slack_requests.event_callback(event))
        signed = {"Content-Type": "application/json",
                  **slack_requests.sign(SIGNING_SECRET, body), **headers}
        return await self.post("/slack/events", body, signed)

    async def open_home(self, user: str) -> dict:
        who = person(user)
        reply = await self.event(slack_requests.app_home_opened(who.id,
                                                               self.slack.dm_channel(who.id)))
        assert reply.status == 200, reply.text
        await self.settle()
        home = self.slack.home(who.id)
        assert home is not None, "the bot did not publish a home tab"
        return home

    async def interact(self, payload: dict) -> Reply:
        return await self.signed(
            slack_requests.interactive_body(payload), "application/x-www-form-urlencoded"
        )

    async def click(
        self, user: str, action_id: str, *, channel: str | None = None,
        message: dict | None = None, view: dict | None = None, block_id: str | None = None,
        selected: Any = None,
    ) -> Reply:
        """Click a button of a message the bot posted (or of a view it opened); `selected`:
        the option chosen in a menu (an overflow menu's value)."""
        who = person(user)
        payload = slack_requests.block_actions_payload(
            user=who.id, user_name=who.name, action_id=action_id,
            trigger_id=slack_requests.new_trigger_id(), message=message, channel=channel,
            view=view, block_id=block_id, selected=selected,
            response_url=self.slack.response_url(user=who.id, channel=channel or ""),
        )
        return await self.interact(payload)

    async def submit(self, user: str, view: dict, values: dict[str, Any]) -> Reply:
        """Submit a modal the bot opened, filling its inputs by block_id."""
        who = person(user)
        payload = slack_requests.view_submission_payload(
            user=who.id, user_name=who.name, view=view, values=values,
            trigger_id=slack_requests.new_trigger_id(),
        )
        return await self.interact(payload)


class BotHarness(SlackRequests):
    """The bot served in this process, on the test's clock and database."""

    def __init__(self, ctx: Context, runner: web.AppRunner, url: str, slack: FakeSlack) -> None:
        super().__init__(url, slack)
        self.ctx = ctx
        self.runner = runner

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.ctx.clock, ManualClock)
        return self.ctx.clock

    async def stop(self) -> None:
        await self.http.close()
        await self.runner.cleanup()

    async def settle(self) -> None:
        """Wait until the work the bot does after answering Slack is over."""
        for _ in range(50):
            await asyncio.sleep(0)
            tasks = self.ctx.background.tasks()
            if not tasks:
                await asyncio.sleep(0.01)
                if not self.ctx.background.tasks():
                    return
                continue
            await asyncio.wait(tasks, timeout=10)
        raise AssertionError("the bot's background work did not settle")

    async def sweep(self) -> int:
        """Send what is due at the clock's time (as the scheduler's interval job would)."""
        handled = await self.ctx.sweeper.run_once()
        await self.settle()
        return handled


async def start_bot(
    *, db: Database, slack: FakeSlack, clock: ManualClock, policy: Policy,
    settings: dict[str, Any] | None = None,
) -> BotHarness:
    config = Config(
        settings=Settings(
            _env_file=None,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.base_url,
            database_url=db.url,
            # The suite's requests come one at a time: no burst for the work after them to
            # wait out (tests/runtime/test_background.py shows the quiet at work).
            **({"changebot_answer_quiet_seconds": 0} | (settings or {})),
        ),
        policy=policy,
    )
    # The harness owns the database fixture: give the bot its own engine on the same URL.
    ctx = create_context(config, clock=clock, db=database(config.settings, now=clock.now))
    await identify(ctx)
    web_app = create_web_app(ctx, create_bolt_app(ctx))
    runner = web.AppRunner(web_app, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return BotHarness(ctx, runner, f"http://127.0.0.1:{port}", slack)
