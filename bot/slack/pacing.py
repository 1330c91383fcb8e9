"""Slack's rate limits, kept per method and channel so one busy lane never holds back another.

`chat.postMessage` allows about one message per second per channel, with short bursts; a 429
names how long to wait (`Retry-After`) for that method (and channel) only. The pacer measures
time with the injected clock: the outbox asks it before posting and, when a lane is full,
hands the row back to the sweeper for later (`NotYet`) instead of sleeping on it, so a paced
row is durable and a test moves the clock instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: int


# Slack's published limits: chat.postMessage "1 per second per channel, short bursts";
# chat.update is Tier 3 (50+ per minute) and views.publish Tier 4 (100+ per minute), each
# counted per workspace.
LIMITS: dict[str, Limit] = {
    "chat.postMessage": Limit(per_second=1.0, burst=8),
    "chat.update": Limit(per_second=50 / 60, burst=20),
    "views.publish": Limit(per_second=100 / 60, burst=20),
}
PER_CHANNEL = frozenset({"chat.postMessage"})


class Pacer:
    def __init__(self, now: Callable[[], datetime], limits: dict[str, Limit] | None = None):
        self._now = now
        self.limits = dict(LIMITS if limits is None else limits)
        self._tokens: dict[tuple[str, str], tuple[float, float]] = {}  # lane -> (tokens, at)
        self._held: dict[tuple[str, str], float] = {}  # lane -> held until (epoch seconds)

    def _lane(self, method: str, channel: str | None) -> tuple[str, str]:
        return (method, (channel or "") if method in PER_CHANNEL else "")

    def take(self, method: str, channel: str | None = None) -> float:
        """0 and one send counted if the lane has room now; else the seconds to wait."""
        lane = self._lane(method, channel)
        now = self._now().timestamp()
        held = self._held.get(lane, 0.0) - now
        if held > 0:
            return held
        self._held.pop(lane, None)
        limit = self.limits.get(method)
        if limit is None:
            return 0.0
        tokens, at = self._tokens.get(lane, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + max(now - at, 0.0) * limit.per_second)
        if tokens < 1.0:
            self._tokens[lane] = (tokens, now)
            return (1.0 - tokens) / limit.per_second
        self._tokens[lane] = (tokens - 1.0, now)
        if len(self._tokens) > 10_000:  # lanes idle long enough to be full again are dropped
            self._forget_full(now)
        return 0.0

    def hold(self, method: str, channel: str | None, seconds: float) -> None:
        """Slack said 429: nothing more on this lane for `seconds`."""
        lane = self._lane(method, channel)
        until = self._now().timestamp() + max(seconds, 0.0)
        self._held[lane] = max(self._held.get(lane, 0.0), until)

    def _forget_full(self, now: float) -> None:
        for lane, (tokens, at) in list(self._tokens.items()):
            limit = self.limits.get(lane[0])
            if limit is None or tokens + (now - at) * limit.per_second >= limit.burst:
                del self._tokens[lane]
