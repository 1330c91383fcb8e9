"""While the bot serves, garbage cycles are collected between Slack's answers, not in the
middle of them: the automatic collector is off, a pass runs every `every` seconds once no
request is being answered, and leaving puts the collector back as it was."""

from __future__ import annotations

import asyncio
import gc
import weakref

from bot.runtime.background import HOLD, Background
from bot.runtime.collector import between_answers

EVERY = 0.01


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def garbage_cycle() -> tuple[asyncio.Event, weakref.ref]:
    """A cycle left for the collector; the event is set once it freed it (keep the weak
    reference: a callback is called only while its reference lives)."""
    freed = asyncio.Event()
    return freed, weakref.ref(Node(), lambda _ref: freed.set())


async def gone(freed: asyncio.Event, within: float) -> bool:
    try:
        await asyncio.wait_for(freed.wait(), within)
    except TimeoutError:
        return False
    return True


async def test_cycles_are_collected_between_answers_and_never_during_one() -> None:
    background = Background(quiet=0)
    async with between_answers(background, every=EVERY):
        assert not gc.isenabled()
        before, _kept = garbage_cycle()
        assert await gone(before, within=HOLD)
        with background.answering():
            during, _kept = garbage_cycle()
            assert not await gone(during, within=10 * EVERY)
        assert await gone(during, within=HOLD)
    assert gc.isenabled() and gc.get_freeze_count() == 0
