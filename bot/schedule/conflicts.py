"""Conflicts: two changes planned on the same service within the policy's
`calendar.conflict_window` of each other. Pure: changes in, conflicts out.

The service of a change is the one its form names (policy `proposal.services`), else the
repository of its linked pull request (`acme/api`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.change.states import CLOSED, Status, format_change_id

_PR_REPO = re.compile(r"github\.com/([\w.-]+/[\w.-]+)/pull/\d+", re.IGNORECASE)

# A change that will not ship as planned (closed, or rejected until revised) conflicts
# with nothing.
NOT_SHIPPING = frozenset(CLOSED) | {Status.rejected}


@dataclass(frozen=True)
class Planned:
    """What conflicts and the calendar read of one change."""

    change_id: int
    title: str
    author: str
    status: Status
    service: str | None
    planned_at: datetime | None
    deployed_at: datetime | None = None
    card: str | None = None  # a link to its card, once posted

    @property
    def name(self) -> str:
        return format_change_id(self.change_id)


def service_of(pr_repo: str | None, pr_url: str | None, *, named: str | None = None
               ) -> str | None:
    """The service the change's form `named`; else `acme/api` for a change linked to a pull
    request of github.com/acme/api; else None. Lower case: compared without case."""
    if named and named.strip():
        return named.strip().lower()
    if pr_repo:
        return pr_repo.lower()
    match = _PR_REPO.search(pr_url or "")
    return match.group(1).lower() if match else None


def in_conflict(one: Planned, other: Planned, window: timedelta) -> bool:
    if one.change_id == other.change_id or one.service is None:
        return False
    if one.status in NOT_SHIPPING or other.status in NOT_SHIPPING:
        return False
    if one.planned_at is None or other.planned_at is None or one.service != other.service:
        return False
    return abs(one.planned_at - other.planned_at) < window


def conflicts_of(one: Planned, others: Iterable[Planned], window: timedelta) -> list[Planned]:
    """The changes `one` conflicts with, by planned time."""
    found = [other for other in others if in_conflict(one, other, window)]
    return sorted(found, key=lambda p: (p.planned_at, p.change_id))


def conflicting_ids(changes: Iterable[Planned], window: timedelta) -> dict[int, list[int]]:
    """For the calendar: each change in conflict, and the ones it conflicts with."""
    ordered = sorted((p for p in changes if p.service and p.planned_at),
                     key=lambda p: (p.service, p.planned_at, p.change_id))
    found: dict[int, list[int]] = {}
    for index, one in enumerate(ordered):
        for other in ordered[index + 1:]:
            if other.service != one.service:
                break
            if in_conflict(one, other, window):
                found.setdefault(one.change_id, []).append(other.change_id)
                found.setdefault(other.change_id, []).append(one.change_id)
    return found
