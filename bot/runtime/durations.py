"""Durations as people write them in a policy (`90s`, `30m`, `24h`, `2d`), and as people
read them in a message (`1 h 5 min`, `30 minutes`)."""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Read `90s`, `30m`, `24h` or `2d`; a bare number counts as seconds."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float) and not isinstance(text, bool):
        return timedelta(seconds=text)
    match = _PATTERN.match(str(text))
    if not match:
        raise ValueError(
            f"{text!r} is not a duration: write a whole number and a unit, "
            "e.g. 90s, 30m, 24h or 2d"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling of a duration: 5400s -> `90m`."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def spell(delta: timedelta, *, words: bool = False, smallest: str = "s") -> str:
    """A duration as people read it: `1 h 5 min`, `12 min 30 s`, `45 s`; with `words`,
    `1 hour 30 minutes`. Seconds are left out beside hours, and when `smallest` is "min".
    A negative duration counts as none."""
    hours, rest = divmod(max(int(delta.total_seconds()), 0), 3600)
    minutes, seconds = divmod(rest, 60)
    counts = [(hours, "h", "hour"), (minutes, "min", "minute")]
    if smallest == "s" and not hours:
        counts.append((seconds, "s", "second"))
    parts = [_unit(n, short, word, words) for n, short, word in counts if n]
    if not parts:
        _, short, word = counts[-1]
        return _unit(0, short, word, words)
    return " ".join(parts)


def _unit(count: int, short: str, word: str, words: bool) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}" if words else f"{count} {short}"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
