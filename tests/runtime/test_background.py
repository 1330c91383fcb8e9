"""The work after the answers: it waits until no Slack request is being answered, and none
was for the quiet time, so that a burst whose requests arrive with gaps between them is
acknowledged first (HOLD bounds the wait)."""

from __future__ import annotations

import asyncio

from bot.runtime.background import HOLD, Background


async def test_work_waits_out_a_burst_with_a_gap_between_its_requests() -> None:
    background, order = Background(quiet=HOLD / 2), []

    async def work() -> None:
        order.append("work")

    with background.answering():
        task = background.spawn(work())
        order.append("answer 1")
    for _ in range(5):  # the gap before the next request: the loop turns meanwhile
        await asyncio.sleep(0)
    with background.answering():
        order.append("answer 2")
    await task
    assert order == ["answer 1", "answer 2", "work"]


async def test_without_a_quiet_the_work_starts_in_the_gap() -> None:
    background, order = Background(quiet=0), []

    async def work() -> None:
        order.append("work")

    with background.answering():
        task = background.spawn(work())
        order.append("answer 1")
    await asyncio.wait_for(task, HOLD)
    assert order == ["answer 1", "work"]


async def test_a_stream_of_answers_does_not_hold_the_work_past_hold() -> None:
    background, started = Background(quiet=HOLD), asyncio.Event()

    async def work() -> None:
        started.set()

    with background.answering():
        background.spawn(work())
    loop = asyncio.get_running_loop()
    begun = loop.time()
    while not started.is_set():  # an answer every 10 ms, never a quiet HOLD long
        with background.answering():
            await asyncio.sleep(0.01)
        assert loop.time() - begun < 3 * HOLD, "the work never started"
