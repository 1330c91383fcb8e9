"""Work that runs after Slack has been answered, tracked so that shutdown can finish it."""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self, on_error=None) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._on_error = on_error

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str = "work") -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(self._guard(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, work: Coroutine[Any, Any, Any], name: str) -> Any:
        try:
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
