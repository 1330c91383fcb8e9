"""The one source of time. Tests and the playground move a ManualClock instead of sleeping."""

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cachetools import TTLCache


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


def ttl_cache(caches: dict[str, Any], name: str, clock: Clock, ttl: timedelta,
              maxsize: int = 1024) -> TTLCache[Any, Any]:
    """The per-process cache `name` in `caches` (made on first use): entries live `ttl` by
    `clock`, so a test that moves its ManualClock past `ttl` sees them expire."""
    cache = caches.get(name)
    if cache is None:
        cache = caches[name] = TTLCache(maxsize, ttl.total_seconds(),
                                        timer=lambda: clock.now().timestamp())
    return cache
