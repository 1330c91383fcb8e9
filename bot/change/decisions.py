"""A rule's answer to "may this person do that now?", and the words it is given in.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.change.states import Status


@dataclass(frozen=True)
class Decision:
    """Allowed or not; when refused, `reason` is what the person reads (ephemeral)."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def refuse(reason: str) -> Decision:
    return Decision(False, reason)


# How a status reads after "This change is …".
STATE_PHRASES: dict[Status, str] = {
    Status.proposed: "not in review yet",
    Status.in_review: "in review",
    Status.approved: "approved",
    Status.staging: "in staging",
    Status.ready: "ready for production",
    Status.deploying: "being deployed to production",
    Status.monitoring: "being monitored in production",
    Status.completed: "completed",
    Status.rejected: "rejected",
    Status.cancelled: "cancelled",
    Status.rolled_back: "rolled back",
}


def this_is(status: Status) -> str:
    return f"This change is {STATE_PHRASES[status]}"


def joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
