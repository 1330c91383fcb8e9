"""Per-process caches live by the injected clock, not by the wall clock."""

from datetime import UTC, datetime, timedelta

from bot.runtime.clock import ManualClock, ttl_cache


def test_a_cached_entry_expires_when_the_clock_moves_past_its_time_to_live():
    clock = ManualClock(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    caches: dict[str, object] = {}
    groups = ttl_cache(caches, "groups", clock, timedelta(minutes=5))
    groups["S0SECURITY"] = frozenset({"U0BOB"})

    assert ttl_cache(caches, "groups", clock, timedelta(minutes=5)) is groups
    clock.advance(timedelta(minutes=4, seconds=59))
    assert groups.get("S0SECURITY") == frozenset({"U0BOB"})
    clock.advance(timedelta(seconds=1))
    assert groups.get("S0SECURITY") is None
    assert ttl_cache(caches, "other", clock, timedelta(minutes=5)) is not groups
