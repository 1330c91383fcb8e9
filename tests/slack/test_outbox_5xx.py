"""Slack took the post but answered 5xx (or the connection broke): the message is looked
for by its key before it is posted again, and a card posted twice points to the real one."""

import aiohttp
from aiohttp import web

from bot.playground.standin.workspace import CHANGES
from storage.models import Change
from tests.flows import PROPOSAL, cards, open_modal


class AcceptedThenFailed:
    """In front of the fake Slack: the next `times` chat.postMessage calls are carried out,
    then answered 500 (or the connection is cut), as Slack does when it fails late."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.times = 0
        self.cut = False
        self.http = aiohttp.ClientSession()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"
        return self.url

    async def forward(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"].removeprefix("api/")
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        url = f"{self.upstream}/{tail}?{request.query_string}"
        async with self.http.request(request.method, url, data=body,
                                     headers=headers) as upstream:
            answer = await upstream.read()
            status, content_type = upstream.status, upstream.content_type
        if tail == "chat.postMessage" and self.times:
            self.times -= 1
            if self.cut:
                request.transport.close()  # type: ignore[union-attr]
                return web.Response(status=500)
            return web.Response(status=500, text="upstream failed")
        return web.Response(status=status, body=answer, content_type=content_type)

    async def stop(self) -> None:
        await self.http.close()
        if self.runner is not None:
            await self.runner.cleanup()


async def _behind_proxy(bot) -> AcceptedThenFailed:
    proxy = AcceptedThenFailed(bot.slack.base_url)
    bot.ctx.slack.base_url = await proxy.start()
    return proxy


async def _propose(bot) -> None:
    view = await open_modal(bot, "alice")
    reply = await bot.submit("alice", view, PROPOSAL)
    assert reply.status == 200 and not reply.text.strip()
    await bot.settle()


async def test_a_card_accepted_then_answered_500_is_found_not_posted_again(bot):
    proxy = await _behind_proxy(bot)
    try:
        proxy.times = 1
        await _propose(bot)
        await bot.sweep()
    finally:
        await proxy.stop()
    assert len(cards(bot)) == 1
    async with bot.ctx.db.session() as session:
        change = await session.get(Change, 1)
    assert change.card_ts == cards(bot)[0]["ts"]


async def test_a_post_whose_connection_broke_after_slack_took_it_is_not_repeated(bot):
    proxy = await _behind_proxy(bot)
    try:
        proxy.times, proxy.cut = 1, True
        await _propose(bot)
        await bot.sweep()
    finally:
        await proxy.stop()
    assert len(cards(bot)) == 1
    async with bot.ctx.db.session() as session:
        change = await session.get(Change, 1)
    assert change.card_ts == cards(bot)[0]["ts"]  # found at once, not a backoff later


async def test_a_card_posted_twice_points_the_extra_copy_to_the_real_card(bot):
    proxy = await _behind_proxy(bot)
    try:
        proxy.times = 1
        bot.slack.error("conversations.history", "internal_error")  # cannot look: posts again
        await _propose(bot)
        await bot.sweep()
    finally:
        await proxy.stop()
    top = [m for m in bot.slack.messages(CHANGES) if not m.get("thread_ts")]
    async with bot.ctx.db.session() as session:
        change = await session.get(Change, 1)
    real = [m for m in top if m["ts"] == change.card_ts]
    extra = [m for m in top if m["ts"] != change.card_ts and "CHG-1" in m["text"]]
    assert len(real) == 1 and len(extra) == 1
    assert "posted twice by mistake" in extra[0]["text"] and not extra[0]["blocks"]
    assert real[0]["blocks"]  # the real card keeps its buttons
