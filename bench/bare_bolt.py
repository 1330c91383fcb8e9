"""The yardstick of the ack latency: a bare Bolt app, one listener that acknowledges
`/change` and does nothing else, served on the bot's stack (aiohttp's AppRunner, Bolt's
AsyncApp answering before processing, logging as `changebot serve` sets it):

    python -m bench.bare_bolt --port 3001
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult

from bench.served import until_stopped
from tests.harness import SIGNING_SECRET


async def authorize(**_kwargs) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=None, team_id="T0STANDIN", bot_token="xoxb-test",
                           bot_id="B0BOT", bot_user_id="U0BOT")


def bare_app() -> web.Application:
    bolt = AsyncApp(signing_secret=SIGNING_SECRET, authorize=authorize,
                    process_before_response=False)

    @bolt.command("/change")
    async def change(ack: AsyncAck) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(
            await to_bolt_request(request)))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", healthz)
    return web_app


async def main(port: int) -> None:
    runner = web.AppRunner(bare_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    # No collector pause at all (serve's run between answers, bot.runtime.collector): the
    # strictest yardstick, and the same stack tuned at least as well.
    gc.freeze()
    gc.disable()
    try:
        await until_stopped()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(parser.parse_args().port))
