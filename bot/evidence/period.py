"""Which changes belong to a pack: a period of whole days in the team's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    """Whole days in the team's time zone, both included; `start`/`end` are UTC bounds
    (`end` excluded)."""

    first_day: date
    last_day: date
    zone: str
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.first_day.isoformat()} to {self.last_day.isoformat()}"


def parse_period(first: str, last: str, zone: ZoneInfo | str = "UTC") -> Period:
    """`2026-01-01`, `2026-03-31` -> the period; ValueError saying what to write."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    days = []
    for text in (first, last):
        try:
            days.append(date.fromisoformat(text.strip()))
        except ValueError:
            raise ValueError(
                f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-03-31"
            ) from None
    if days[1] < days[0]:
        raise ValueError(
            f"the period ends ({days[1]}) before it starts ({days[0]}): give the first "
            "day, then the last"
        )
    start = datetime.combine(days[0], time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(days[1] + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return Period(days[0], days[1], zone.key, start, end)


