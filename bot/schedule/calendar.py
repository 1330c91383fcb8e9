"""The change calendar: a week of planned and deployed changes, day by day, with the freezes
and business hours they meet and the conflicts between them. Pure: changes, freezes, the
policy and the viewer's time zone in; pages of entries out (bot.schedule.calendar_view
draws them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.deployment.business_hours import is_business_time
from bot.policy import Policy
from bot.schedule.conflicts import Planned, conflicting_ids
from bot.schedule.freeze import Freeze, freeze_at

USAGE = "`/change calendar` (this week), `/change calendar next week` or `/change calendar " \
        "2026-12-14` (the week of that day)"
PER_PAGE = 20  # entries per message: a day per section, well under Slack's 50 blocks

PLANNED, DEPLOYED = "planned", "deployed"


class Invalid(ValueError):
    """What is wrong with the week asked for, in a sentence."""


@dataclass(frozen=True)
class Week:
    """Monday 00:00 to the next Monday 00:00 in the viewer's time zone."""

    monday: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.monday, time(0), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=self.zone)

    def days(self) -> list[date]:
        return [self.monday + timedelta(days=n) for n in range(7)]


def week_of(day: date, zone: ZoneInfo) -> Week:
    return Week(day - timedelta(days=day.weekday()), zone)


def parse_week(text: str, now: datetime, zone: ZoneInfo) -> Week:
    """`` / `this week`, `next week`, `last week`, or `YYYY-MM-DD` (the week of that day)."""
    words = " ".join(text.lower().split())
    today = now.astimezone(zone).date()
    if words in ("", "this week", "week", "today"):
        return week_of(today, zone)
    if words == "next week":
        return week_of(today + timedelta(days=7), zone)
    if words == "last week":
        return week_of(today - timedelta(days=7), zone)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", words):
        try:
            return week_of(date.fromisoformat(words), zone)
        except ValueError:
            pass
    raise Invalid(f"I can't read `{text.strip()}` as a week. Try {USAGE}.")


@dataclass(frozen=True)
class Entry:
    """A change on the calendar: when it is planned, or when it was deployed."""

    at: datetime
    kind: str  # planned | deployed
    change: Planned
    freeze: Freeze | None = None  # the freeze it falls in
    outside_business_hours: bool = False
    conflicts: tuple[int, ...] = ()  # the changes it conflicts with


def entries(week: Week, changes: Iterable[Planned], policy: Policy,
            freezes: Sequence[Freeze]) -> list[Entry]:
    """The week's entries by time: a change planned and deployed that week shows twice."""
    changes = list(changes)
    conflicts = conflicting_ids(changes, policy.calendar.conflict_window)
    found = []
    for change in changes:
        for kind, at in ((PLANNED, change.planned_at), (DEPLOYED, change.deployed_at)):
            if at is None or not week.start <= at < week.end:
                continue
            if kind == PLANNED and change.deployed_at is not None:
                continue  # it shipped: where it went matters, not where it was meant to go
            found.append(Entry(
                at, kind, change, freeze_at(policy, freezes, at),
                not is_business_time(policy.business_hours, at),
                tuple(sorted(conflicts.get(change.change_id, []))) if kind == PLANNED else (),
            ))
    return sorted(found, key=lambda e: (e.at, e.change.change_id))


def pages(found: Sequence[Entry], per_page: int = PER_PAGE) -> list[list[Entry]]:
    """The entries cut into messages; an empty week is one empty page."""
    return [list(found[i:i + per_page]) for i in range(0, len(found), per_page)] or [[]]


def by_day(page: Sequence[Entry], week: Week) -> list[tuple[date, list[Entry]]]:
    """The page's entries grouped by day in the viewer's zone, days in order."""
    days: dict[date, list[Entry]] = {}
    for entry in page:
        days.setdefault(entry.at.astimezone(week.zone).date(), []).append(entry)
    return sorted(days.items())
