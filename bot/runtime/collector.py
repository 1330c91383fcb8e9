"""Python's garbage collector, kept out of the way of Slack's answers.

The collector runs whenever enough objects were allocated, so in the middle of a burst of
requests a pass stalls every answer queued behind it (the benchmark showed whole rounds of
50 acks late at the same places run after run). While the bot serves, what start-up made is
frozen (it lives as long as the process), the automatic collector is off, and a pass runs
here instead: every EVERY seconds, once no Slack request is being answered
(Background.after_answers, which waits HOLD at most), so that garbage cycles still go
within about two seconds.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.runtime.background import Background

EVERY = 1.0  # seconds between passes


@asynccontextmanager
async def between_answers(background: Background, every: float = EVERY
                          ) -> AsyncIterator[None]:
    gc.freeze()
    gc.disable()
    passes = asyncio.create_task(_collect(background, every), name="garbage collector")
    try:
        yield
    finally:
        passes.cancel()
        gc.enable()
        gc.unfreeze()


async def _collect(background: Background, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        await background.after_answers()
        gc.collect()
