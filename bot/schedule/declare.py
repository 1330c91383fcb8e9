"""`/change freeze <from> <to> [zone] <reason>`: reading a one-off freeze, and whether it may
be declared. Pure: the words, the policy, the freezes already declared and the time in;
a `Declaration`, or a sentence saying what is wrong, out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.policy import Policy
from bot.schedule.freeze import DECLARED, Freeze, overlapping

USAGE = ("`/change freeze FROM TO [ZONE] REASON`, e.g. `/change freeze 2026-12-24 "
         "2026-12-26 Christmas`, or `/change freeze now 2026-12-04T18:00 Europe/Paris launch`")
MAX_REASON = 500

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$")


class Invalid(ValueError):
    """What is wrong with a declaration, in a sentence for the person who typed it."""


@dataclass(frozen=True)
class Declaration:
    starts_at: datetime  # UTC
    ends_at: datetime
    timezone: str
    reason: str

    def as_freeze(self) -> Freeze:
        return Freeze("the new freeze", self.reason, self.starts_at, self.ends_at, DECLARED)


def parse_declaration(words: Sequence[str], policy: Policy, now: datetime) -> Declaration:
    """Read the words after `/change freeze`; raise Invalid with what to write instead."""
    if len(words) < 3:
        raise Invalid(f"A freeze needs a start, an end and a reason: {USAGE}.")
    first, last, rest = words[0], words[1], list(words[2:])
    zone_name = policy.business_hours.timezone
    if _names_a_zone(rest[0]):
        zone_name = rest.pop(0)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"`{zone_name}` is not a time zone: use an IANA name such as "
                      "Europe/Paris, or leave it out for the team's "
                      f"({policy.business_hours.timezone}).") from None
    reason = " ".join(rest).strip()
    if not reason:
        raise Invalid(f"Say why production is frozen: the reason is announced and kept on "
                      f"the record. {USAGE}.")
    if len(reason) > MAX_REASON:
        raise Invalid(f"Keep the reason under {MAX_REASON} characters.")
    today = now.astimezone(zone).date()
    if first.lower() == "now":
        starts_at = now.astimezone(UTC)
    else:
        starts_at = _moment(first, zone, end=False)
        if _DAY.match(first) and date.fromisoformat(first) == today:
            starts_at = max(starts_at, now.astimezone(UTC))  # "today" means from now on
    ends_at = _moment(last, zone, end=True)
    if ends_at <= starts_at:
        raise Invalid(f"The freeze would end ({last}) before it starts ({first}): write the "
                      "start first, then the end.")
    if ends_at <= now:
        raise Invalid(f"{last} is in the past: a freeze must end in the future.")
    if starts_at < now - timedelta(minutes=1):
        raise Invalid(f"{first} is in the past: start the freeze `now` or later.")
    return Declaration(starts_at, ends_at, zone_name, reason)


def overlap_problem(declaration: Declaration, policy: Policy,
                    declared: Sequence[Freeze]) -> str | None:
    """Why the freeze cannot be declared as it is (it overlaps another), or None."""
    clashes = overlapping(declaration.as_freeze(), policy, declared)
    if not clashes:
        return None
    names = ", ".join(clash.said for clash in clashes)
    return (f"It overlaps {names}: production is frozen then already. Lift it first "
            "(`/change unfreeze FRZ-n`) or choose dates around it.")


# Shaped like an IANA zone name (`Europe/Paris`, `America/Argentina/Salta`): then it is meant
# as one, and a mistyped zone is said so. `CI/CD` is a reason.
_ZONE_SHAPE = re.compile(r"^[A-Z][a-z]+(/[A-Z][A-Za-z0-9_+\-]*)+$")


def _names_a_zone(word: str) -> bool:
    return word.upper() == "UTC" or bool(_ZONE_SHAPE.match(word))


def _moment(text: str, zone: ZoneInfo, *, end: bool) -> datetime:
    """`2026-12-24` (the start of that day, or the end of it for an end) or
    `2026-12-24T14:00`, read in `zone`, as UTC."""
    try:
        if _DAY.match(text):
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        if _MOMENT.match(text):
            return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)
    except ValueError:
        pass  # 2026-02-30, 25:00: said below like any other unreadable date
    raise Invalid(f"`{text}` is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM "
                  "(or `now` for the start).")
