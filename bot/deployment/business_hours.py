"""Business hours: when a production deployment may happen (process Step 6).

"Deploy during business hours (unless emergency)." The hours are the policy's
`[business_hours]` section: a time zone, the working days, an opening and a closing time,
and optionally a country whose public holidays are closed days.

Every function is pure: it takes the `BusinessHours` policy and aware datetimes, and
returns aware datetimes in UTC. Day boundaries are computed in the team's time zone with
`zoneinfo`, so a daylight-saving switch moves the opening in UTC, not in local time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import holidays

from bot.policy import BusinessHours

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Enough to cross any run of closed days (holidays plus weekends) in a year.
_SEARCH_DAYS = 400


def is_business_time(hours: BusinessHours, moment: datetime) -> bool:
    """True when `moment` falls on a working day, between opening (included) and closing."""
    _require_aware(moment)
    day = moment.astimezone(hours.zone).date()
    if not is_open_day(hours, day):
        return False
    opening, closing = _window(hours, day)
    return opening <= moment < closing


def next_business_time(hours: BusinessHours, moment: datetime) -> datetime:
    """`moment` itself (in UTC) if it is business time, else the next opening."""
    _require_aware(moment)
    day = moment.astimezone(hours.zone).date()
    for _ in range(_SEARCH_DAYS):
        if is_open_day(hours, day):
            opening, closing = _window(hours, day)
            if moment < closing:
                return max(moment.astimezone(UTC), opening)
        day += timedelta(days=1)
    raise ValueError(f"no business time within {_SEARCH_DAYS} days of {moment.isoformat()}")


def add_business_time(hours: BusinessHours, start: datetime, delta: timedelta) -> datetime:
    """The moment `delta` of business time after `start`, in UTC.

    Only open hours count: 4 business hours after Friday 16:00 (Mon–Fri 09:00–17:00) is
    Monday 12:00. Starting outside business hours counts from the next opening.
    """
    if delta < timedelta(0):
        raise ValueError(f"cannot add a negative business time ({delta})")
    remaining = delta
    cursor = start
    while True:
        cursor = next_business_time(hours, cursor)
        _, closing = _window(hours, cursor.astimezone(hours.zone).date())
        available = closing - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = closing


def is_open_day(hours: BusinessHours, day: date) -> bool:
    """A working day of the policy that is not a public holiday."""
    return day.weekday() in hours.weekdays and not is_holiday(hours, day)


def is_holiday(hours: BusinessHours, day: date) -> bool:
    """A public holiday of `hours.holidays_country` (e.g. `US`, or `DE-BY` for Bavaria)."""
    if not hours.holidays_country:
        return False
    return day in holiday_calendar(hours.holidays_country, day.year)


@lru_cache(maxsize=64)
def holiday_calendar(country: str, year: int) -> frozenset[date]:
    """The public holidays of a country (optionally `COUNTRY-SUBDIVISION`) in one year."""
    code, _, subdivision = country.strip().upper().partition("-")
    try:
        calendar = holidays.country_holidays(code, subdiv=subdivision or None, years=year)
    except NotImplementedError as exc:
        raise ValueError(
            f"{country!r} is not a country the holidays package knows: "
            "use an ISO 3166 code such as US, or DE-BY for a subdivision"
        ) from exc
    return frozenset(calendar)


def describe(hours: BusinessHours) -> str:
    """The hours as a person reads them: `Mon–Fri 09:00–17:00 UTC`."""
    text = f"{describe_days(hours.weekdays)} {hours.start:%H:%M}–{hours.end:%H:%M} {hours.timezone}"
    if hours.holidays_country:
        text += f", except {hours.holidays_country.upper()} public holidays"
    return text


def describe_days(days: frozenset[int]) -> str:
    """`Mon–Fri`, `Sun–Thu`, `Mon, Wed, Fri` or `every day`."""
    if len(days) == 7:
        return "every day"
    parts = []
    for first in range(7):
        if first not in days or (first - 1) % 7 in days:
            continue  # not the first day of a run of consecutive days
        last = first
        while (last + 1) % 7 in days:
            last = (last + 1) % 7
        length = (last - first) % 7 + 1
        if length == 1:
            parts.append(DAY_NAMES[first])
        elif length == 2:
            parts.append(f"{DAY_NAMES[first]}, {DAY_NAMES[last]}")
        else:
            parts.append(f"{DAY_NAMES[first]}–{DAY_NAMES[last]}")
    return ", ".join(parts)


def format_moment(hours: BusinessHours, moment: datetime) -> str:
    """A moment in the team's time zone: `Mon 7 Dec 09:00 UTC`, `Mon 30 Mar 09:00 CEST`."""
    _require_aware(moment)
    local = moment.astimezone(hours.zone)
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()}"


def _window(hours: BusinessHours, day: date) -> tuple[datetime, datetime]:
    """Opening and closing of `day` (a date in the team's zone), as UTC instants."""
    zone = hours.zone
    opening = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
    closing = datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
    return opening, closing


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: pass an aware datetime")
