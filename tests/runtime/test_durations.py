"""One way to spell a duration for people, whichever message it goes in."""

from datetime import timedelta

import pytest

from bot.runtime.durations import spell


@pytest.mark.parametrize(("delta", "short", "whole_minutes", "words"), [
    (timedelta(0), "0 s", "0 min", "0 seconds"),
    (timedelta(seconds=45), "45 s", "0 min", "45 seconds"),
    (timedelta(minutes=1), "1 min", "1 min", "1 minute"),
    (timedelta(minutes=12, seconds=30), "12 min 30 s", "12 min", "12 minutes 30 seconds"),
    (timedelta(hours=1), "1 h", "1 h", "1 hour"),
    (timedelta(hours=1, minutes=5, seconds=3), "1 h 5 min", "1 h 5 min", "1 hour 5 minutes"),
    (timedelta(hours=31, minutes=50), "31 h 50 min", "31 h 50 min", "31 hours 50 minutes"),
    (timedelta(seconds=-5), "0 s", "0 min", "0 seconds"),
])
def test_a_duration_is_spelled_in_hours_minutes_and_seconds(delta, short, whole_minutes, words):
    assert spell(delta) == short
    assert spell(delta, smallest="min") == whole_minutes
    assert spell(delta, words=True) == words
