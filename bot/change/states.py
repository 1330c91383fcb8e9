"""What a change is: its states, category and risk, the transitions the process allows, and
change ids as people write them.
"""

from __future__ import annotations

import re
from enum import StrEnum

# Status, category and risk are defined beside the tables that store them (storage never
# imports bot); they are part of this module all the same.
from storage.enums import Category as Category
from storage.enums import Risk as Risk
from storage.enums import Status as Status


class GateState(StrEnum):
    met = "met"
    pending = "pending"
    failed = "failed"
    unknown = "unknown"
    not_required = "not_required"
    bypassed = "bypassed"


# The normal path is proposed -> in_review -> approved -> staging -> ready -> deploying ->
# monitoring -> completed. A revision (or a new push) sends a change back to review, which
# resets its approvals. A rollback may happen at any time after a production deployment.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.proposed: frozenset({Status.in_review, Status.cancelled}),
    Status.in_review: frozenset(
        {Status.approved, Status.rejected, Status.cancelled, Status.in_review}
    ),
    Status.approved: frozenset(
        {Status.staging, Status.in_review, Status.rejected, Status.cancelled}
    ),
    Status.staging: frozenset({Status.ready, Status.in_review, Status.rejected, Status.cancelled}),
    Status.ready: frozenset(
        {Status.deploying, Status.monitoring, Status.in_review, Status.rejected, Status.cancelled}
    ),
    Status.deploying: frozenset({Status.monitoring, Status.rolled_back}),
    Status.monitoring: frozenset({Status.completed, Status.rolled_back}),
    Status.completed: frozenset({Status.rolled_back}),
    Status.rejected: frozenset({Status.in_review, Status.cancelled}),
    Status.cancelled: frozenset(),
    Status.rolled_back: frozenset(),
}


# Emergency changes: "Deploy immediately", the approval may come after deployment.
EMERGENCY_SHORTCUTS: dict[Status, frozenset[Status]] = {
    status: frozenset({Status.deploying, Status.monitoring})
    for status in (Status.proposed, Status.in_review, Status.approved, Status.staging)
}


# Closed: nothing can happen to the change any more.
CLOSED: frozenset[Status] = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)


# Before production: the change can still be revised, rejected or cancelled.
PRE_PRODUCTION: frozenset[Status] = frozenset(
    {
        Status.proposed,
        Status.in_review,
        Status.approved,
        Status.staging,
        Status.ready,
        Status.rejected,
    }
)


# In production (or was): only a rollback undoes it.
IN_PRODUCTION: frozenset[Status] = frozenset(
    {Status.deploying, Status.monitoring, Status.completed}
)


def allowed_next(status: Status, category: Category = Category.normal) -> frozenset[Status]:
    """The statuses a change of `category` may move to from `status`."""
    nexts = TRANSITIONS[status]
    if category == Category.emergency:
        nexts |= EMERGENCY_SHORTCUTS.get(status, frozenset())
    return nexts


def can_transition(src: Status, dst: Status, category: Category = Category.normal) -> bool:
    return dst in allowed_next(src, category)


def is_closed(status: Status) -> bool:
    return status in CLOSED


APPROVABLE = frozenset(
    {Status.proposed, Status.in_review, Status.approved, Status.staging, Status.ready}
)


APPROVABLE_EMERGENCY = APPROVABLE | IN_PRODUCTION


_CHANGE_ID = re.compile(r"^(?:chg[-\s]?)?(\d+)$", re.IGNORECASE)


def format_change_id(n: int) -> str:
    return f"CHG-{n}"


def parse_change_id(text: str) -> int:
    """`CHG-12`, `chg-12` or `12` -> 12."""
    match = _CHANGE_ID.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a change id: write it like CHG-12")
    return int(match.group(1))
