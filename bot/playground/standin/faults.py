"""Scripted misbehaviour: HTTP errors, rate limits, error codes and slow answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ANY_METHOD = "*"


@dataclass
class Fault:
    """One scripted answer, used for the next `times` matching calls (None: until cleared)."""

    method: str
    status: int
    body: dict[str, Any]
    label: str  # recorded on the Call, e.g. "http_500", "ratelimited", "error:channel_not_found"
    times: int | None = 1
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str) -> bool:
        return self.method in (method, ANY_METHOD)


class Faults:
    """Faults are consumed in the order they were added; delays apply to every answer."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._delays: dict[str, float] = {}
        # method -> (which calls, released when set): answers held until resumed
        self._paused: dict[str, tuple[Callable[[dict[str, Any]], bool], asyncio.Event]] = {}

    def add(self, fault: Fault) -> None:
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be at least 1 (or None for every call)")
        self._queue.append(fault)

    def take(self, method: str) -> Fault | None:
        """The fault for this call, if any, counting it as used."""
        for fault in self._queue:
            if fault.matches(method):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._queue.remove(fault)
                return fault
        return None

    def set_delay(self, method: str, seconds: float) -> None:
        if seconds > 0:
            self._delays[method] = seconds
        else:
            self._delays.pop(method, None)

    def delay_for(self, method: str) -> float:
        return self._delays.get(method, self._delays.get(ANY_METHOD, 0.0))

    def pause(self, method: str, where: Callable[[dict[str, Any]], bool]) -> None:
        self._paused[method] = (where, asyncio.Event())

    def resume(self, method: str) -> None:
        paused = self._paused.pop(method, None)
        if paused is not None:
            paused[1].set()

    async def wait_if_paused(self, method: str, args: dict[str, Any]) -> None:
        paused = self._paused.get(method)
        if paused is not None and paused[0](args):
            await paused[1].wait()

    def clear(self) -> None:
        self._queue.clear()
        self._delays.clear()
        for method in list(self._paused):
            self.resume(method)


def http_failure(method: str, status: int, times: int | None) -> Fault:
    error = "fatal_error" if status == 500 else "service_unavailable" if status == 503 else "error"
    return Fault(method, status, {"ok": False, "error": error}, f"http_{status}", times)


def rate_limited(method: str, retry_after: int, times: int | None) -> Fault:
    return Fault(method, 429, {"ok": False, "error": "ratelimited"}, "ratelimited", times,
                 headers={"Retry-After": str(retry_after)})


def error_answer(method: str, error: str, times: int | None) -> Fault:
    return Fault(method, 200, {"ok": False, "error": error}, f"error:{error}", times)
