"""Freeze windows: spans of time in which nothing goes to production, emergencies excepted.

Three kinds, all read the same way once expanded into `Freeze` spans:
- recurring ones of the policy (`[[freezes.recurring]]`: days and hours in a time zone,
  e.g. Fridays 15:00–24:00), expanded week by week around the moment asked about;
- dated ones of the policy (`[[freezes.dated]]`: 2026-12-20 → 2027-01-04);
- one-off ones a tech lead declares in Slack (`/change freeze`), stored in the database and
  handed to these rules as `Freeze` values (bot.schedule.freezes loads them).

Every function is pure: policy, freezes and aware datetimes in, UTC datetimes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.runtime.policy_values import parse_clock, parse_days

if TYPE_CHECKING:
    from bot.policy import Policy
    from bot.schedule.policy import DatedFreeze, Freezes, RecurringFreeze

POLICY = "policy"
DECLARED = "declared"

# How far to look for the end of a run of back-to-back freezes before giving up.
_LONGEST_RUN = timedelta(days=400)


@dataclass(frozen=True)
class Freeze:
    """One span of frozen time, [starts_at, ends_at) in UTC."""

    name: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    source: str = POLICY  # policy | declared
    freeze_id: int | None = None  # a declared freeze's number; its name is FRZ-<n>
    declared_by: str | None = None

    def holds(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.starts_at < end and start < self.ends_at

    @property
    def said(self) -> str:
        """How people read it: `“Friday afternoons” (no deploys before the weekend)`."""
        return f"“{self.name}”" + (f" ({self.reason})" if self.reason else "")


def format_freeze_id(freeze_id: int) -> str:
    return f"FRZ-{freeze_id}"


def parse_freeze_id(text: str) -> int:
    """`FRZ-3`, `frz-3` or `3` -> 3."""
    raw = text.strip().upper().removeprefix("FRZ-")
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise ValueError(f"{text.strip() or 'nothing'!r} is not a freeze: write e.g. FRZ-3.")
    return int(raw)


# ---- expanding the policy's freezes ---------------------------------------------------------


def zone_of(name: str | None, policy: Policy | None) -> ZoneInfo:
    """A freeze's own time zone, else the business hours'."""
    if name:
        return ZoneInfo(name)
    return ZoneInfo(policy.business_hours.timezone) if policy else ZoneInfo("UTC")


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """`minutes` after local midnight of `day` (1440 is the next midnight), in UTC."""
    if minutes >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    local = time(minutes // 60, minutes % 60)
    return datetime.combine(day, local, tzinfo=zone).astimezone(UTC)


def recurring_spans(rule: RecurringFreeze, zone: ZoneInfo, start: datetime,
                    end: datetime) -> list[Freeze]:
    """The occurrences of a weekly freeze that meet [start, end)."""
    days = parse_days(rule.days)
    first, last = parse_clock(rule.start), parse_clock(rule.end)
    day = start.astimezone(zone).date() - timedelta(days=1)
    found = []
    while day <= end.astimezone(zone).date():
        if day.weekday() in days:
            span = Freeze(rule.name, rule.reason, _at(day, first, zone), _at(day, last, zone))
            if span.overlaps(start, end):
                found.append(span)
        day += timedelta(days=1)
    return found


def _moment(value: date | datetime, zone: ZoneInfo, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=zone)
        return aware.astimezone(UTC)
    # A date alone: from the start of the day, or to the end of it (the day is included).
    return _at(value, 24 * 60 if end else 0, zone)


def dated_span(rule: DatedFreeze, zone: ZoneInfo) -> Freeze:
    return Freeze(rule.name, rule.reason, _moment(rule.start, zone, end=False),
                  _moment(rule.end, zone, end=True))


def policy_freezes(policy: Policy, start: datetime, end: datetime) -> list[Freeze]:
    """The policy's freezes (recurring and dated) that meet [start, end), by start."""
    section = policy.freezes
    found = [span for rule in section.recurring
             for span in recurring_spans(rule, zone_of(rule.timezone, policy), start, end)]
    found += [span for rule in section.dated
              if (span := dated_span(rule, zone_of(rule.timezone, policy))).overlaps(start, end)]
    return sorted(found, key=lambda f: (f.starts_at, f.name))


def freezes_between(policy: Policy, declared: Iterable[Freeze], start: datetime,
                    end: datetime) -> list[Freeze]:
    """Every freeze (the policy's and the declared ones) that meets [start, end)."""
    found = policy_freezes(policy, start, end)
    found += [f for f in declared if f.overlaps(start, end)]
    return sorted(found, key=lambda f: (f.starts_at, f.name))


# ---- the questions the gate and the commands ask -------------------------------------------


def freeze_at(policy: Policy, declared: Iterable[Freeze], moment: datetime) -> Freeze | None:
    """The freeze that holds at `moment` (the one ending last when several do), or None."""
    _require_aware(moment)
    holding = [f for f in freezes_between(policy, declared, moment, moment + timedelta(
        microseconds=1)) if f.holds(moment)]
    return max(holding, key=lambda f: f.ends_at) if holding else None


def thaw_at(policy: Policy, declared: Sequence[Freeze], moment: datetime) -> datetime:
    """When production opens again after `moment`: the end of the run of freezes that holds
    then (a Friday-afternoon freeze followed by a weekend one ends on Monday); `moment`
    itself when none holds."""
    cursor = moment.astimezone(UTC)
    while (holding := freeze_at(policy, declared, cursor)) is not None:
        cursor = holding.ends_at
        if cursor - moment > _LONGEST_RUN:
            break
    return cursor


def next_freeze(policy: Policy, declared: Iterable[Freeze], moment: datetime,
                within: timedelta = timedelta(days=7)) -> Freeze | None:
    """The next freeze to start after `moment`, within `within`."""
    coming = [f for f in freezes_between(policy, declared, moment, moment + within)
              if f.starts_at > moment]
    return coming[0] if coming else None


def overlapping(candidate: Freeze, policy: Policy, declared: Iterable[Freeze]) -> list[Freeze]:
    """The declared freezes and the policy's dated ones a new freeze would overlap (a weekly
    freeze inside a long one is expected, so recurring ones do not count)."""
    dated = [dated_span(rule, zone_of(rule.timezone, policy)) for rule in policy.freezes.dated]
    return [f for f in [*dated, *declared]
            if f.overlaps(candidate.starts_at, candidate.ends_at)]


# ---- the policy's own sanity ------------------------------------------------------------


# A Monday, to lay the weekly freezes side by side and see whether two of them overlap.
_REFERENCE_WEEK = datetime(2026, 1, 5, tzinfo=UTC)


def policy_problems(section: Freezes) -> list[str]:
    """What is wrong with the policy's freezes, one sentence each (checked at start). A
    freeze without its own time zone is read in UTC here: two of them move together."""
    problems = []
    dated = []
    for rule in section.dated:
        span = dated_span(rule, zone_of(rule.timezone, None))
        if span.ends_at <= span.starts_at:
            problems.append(f"dated freeze {rule.name!r}: end {rule.end} is before start "
                            f"{rule.start}")
        else:
            dated.append(span)
    problems += _overlaps("dated", dated)
    week_end = _REFERENCE_WEEK + timedelta(days=8)
    weekly = [span for rule in section.recurring
              for span in recurring_spans(rule, zone_of(rule.timezone, None),
                                          _REFERENCE_WEEK, week_end)]
    problems += _overlaps("recurring", weekly)
    return problems


def _overlaps(kind: str, spans: list[Freeze]) -> list[str]:
    found: list[str] = []
    for index, one in enumerate(spans):
        for other in spans[index + 1:]:
            pair = f"{kind} freezes {one.name!r} and {other.name!r} overlap"
            if one.name != other.name and one.overlaps(other.starts_at, other.ends_at) \
                    and pair not in found:
                found.append(pair)
    return [f"{pair}: merge them into one or move one of them" for pair in found]


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: pass an aware datetime")
