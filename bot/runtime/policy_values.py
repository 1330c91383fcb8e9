"""What a policy file's sections and values are made of, below bot.settings so that a step's
own section (bot.schedule.policy) can be built from them too: a section refuses unknown keys;
days of the week (`mon-fri`), times of day (`15:00`, `24:00`) and time zones are read here."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@cache  # read at every business-hours check, from a policy that never changes
def parse_days(text: str) -> frozenset[int]:
    """`mon-fri`, `mon,wed,fri` or `sun-thu` -> weekday numbers (Monday is 0)."""
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        bounds = part.split("-")
        if not part or len(bounds) > 2 or any(b not in _WEEKDAYS for b in bounds):
            raise ValueError(
                f"{text!r} is not a list of days: write e.g. mon-fri or mon,tue,thu"
            )
        first, last = _WEEKDAYS.index(bounds[0]), _WEEKDAYS.index(bounds[-1])
        day = first
        days.add(day)
        while day != last:
            day = (day + 1) % 7
            days.add(day)
    return frozenset(days)


def parse_clock(text: str) -> int:
    """`HH:MM` (24:00 allowed, for the end of a day) -> minutes after midnight."""
    match = _CLOCK.match(str(text).strip())
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not 0 <= minutes <= 24 * 60:
        raise ValueError(f"{text!r} is not a time of day: write HH:MM, e.g. 15:00 or 24:00")
    return minutes


def check_zone(value: str | None) -> str | None:
    """An IANA time zone name, or None; anything else is refused in words."""
    if value is None:
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"{value!r} is not a time zone: use an IANA name such as Europe/Paris"
        ) from exc
    return value


def check_group(value: str | None) -> str | None:
    """A Slack user group id (S...), or None; anything else is refused in words."""
    if value is not None and not _GROUP_ID.match(value):
        raise ValueError(
            f"{value!r} is not a user group id: copy the id (S...) from the group's "
            "page in Slack, e.g. S0123456789"
        )
    return value
