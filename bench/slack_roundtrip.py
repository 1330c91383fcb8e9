"""How fast the bot answers Slack: ack latency of `/change` and proposals end to end.

    python bench/slack_roundtrip.py [--requests 200] [--proposals 50]

Serves the real app on 127.0.0.1 against the Slack stand-in and a temporary SQLite file
(or DATABASE_URL), sends signed requests as Slack does, and prints its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serving import database, percentile, serving  # noqa: E402
from tests.flows import PROPOSAL  # noqa: E402


async def main(requests: int, proposals: int) -> None:
    async with database("bench") as db, serving(db) as (bot, slack):
        acks = []
        for _ in range(requests):
            started = time.perf_counter()
            reply = await bot.command("alice", "help")
            acks.append(time.perf_counter() - started)
            assert reply.status == 200
        print(f"/change help ack: n={requests} p50={percentile(acks, .5) * 1000:.1f} ms "
              f"p95={percentile(acks, .95) * 1000:.1f} ms max={max(acks) * 1000:.1f} ms")

        submits, started_all = [], time.perf_counter()
        for _ in range(proposals):
            await bot.command("alice", "new")
            await bot.settle()
            view = slack.opened_views()[-1]
            started = time.perf_counter()
            reply = await bot.submit("alice", view, PROPOSAL)
            submits.append(time.perf_counter() - started)
            assert reply.status == 200
        await bot.settle()
        elapsed = time.perf_counter() - started_all
        cards = len(slack.calls_to("chat.postMessage"))
        print(f"proposal submit ack: n={proposals} "
              f"p50={percentile(submits, .5) * 1000:.1f} ms "
              f"p95={percentile(submits, .95) * 1000:.1f} ms "
              f"mean={statistics.mean(submits) * 1000:.1f} ms")
        print(f"proposals end to end (modal, submit, card, reviewer DM): "
              f"{proposals / elapsed:.1f}/s; {cards} messages posted")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--proposals", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.proposals))
