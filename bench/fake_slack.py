"""The Slack stand-in of the tests as a process of its own, so that the bench's client and
the Slack the bot calls do not share one event loop:

    python -m bench.fake_slack [--responses 5000]

prints one JSON line — its Web API base URL and response URLs made for alice in #changes —
then serves until stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.served import until_stopped
from bot.playground.standin.api import FakeSlack
from bot.playground.standin.workspace import seed


async def main(responses: int) -> None:
    slack = FakeSlack()
    seed(slack)
    await slack.start()
    urls = [slack.response_url(user="U0ALICE", channel="C0CHANGES") for _ in range(responses)]
    print(json.dumps({"base_url": slack.base_url, "response_urls": urls}), flush=True)
    try:
        await until_stopped()
    finally:
        await slack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=5000)
    asyncio.run(main(parser.parse_args().responses))
