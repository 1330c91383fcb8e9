"""Work that runs after Slack has been answered, tracked so that shutdown can finish it.

It starts once no Slack request is being answered and none was for `quiet` seconds (or after
HOLD at most): a burst of requests is acknowledged first, then their work is done, instead
of the work of the first ones delaying the answers to the others. The quiet covers the gaps
between a burst's requests, when the answers outrun their arrival."""

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

HOLD = 1.0  # seconds work waits for the answers at most: never starved by a stream of them


class Background:
    def __init__(self, on_error=None, quiet: float = 0.0) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._on_error = on_error
        self._answering = 0
        self._answered = asyncio.Event()
        self._answered.set()
        self._quiet = quiet
        self._last_answered = float("-inf")

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around a Slack request until its answer is sent: work spawned meanwhile waits."""
        self._answering += 1
        self._answered.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                self._last_answered = asyncio.get_running_loop().time()
                self._answered.set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str = "work") -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(self._guard(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def after_answers(self) -> None:
        """Wait until no Slack request is being answered, nor was for `quiet` seconds (HOLD
        at most)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + HOLD
        while loop.time() < until:
            if self._answering:
                try:
                    async with asyncio.timeout_at(until):
                        await self._answered.wait()
                except TimeoutError:
                    return
            quiet_for = self._last_answered + self._quiet - loop.time()
            if quiet_for <= 0:
                return
            await asyncio.sleep(min(quiet_for, until - loop.time()))

    async def _guard(self, work: Coroutine[Any, Any, Any], name: str) -> Any:
        try:
            await self.after_answers()
            return await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background work %s failed", name)
            if self._on_error:
                self._on_error(name)
            return None

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def tasks(self) -> set[asyncio.Task]:
        return set(self._tasks)

    async def drain(self, grace: float = 30.0) -> None:
        """Wait for in-flight work (including work it spawns), then cancel what is left."""
        try:
            async with asyncio.timeout(grace):
                while self._tasks:
                    await asyncio.wait(set(self._tasks))
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
