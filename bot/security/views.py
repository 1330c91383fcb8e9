"""Step 4 on the card: why a review is needed, what the team decided, and the team's
buttons while their review is awaited."""

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ButtonElement

from bot.change.card_view import CardInput
from bot.change.facts import ChangeFacts
from bot.change.rows import current, facts_of
from bot.security.rules import awaits_security_review
from bot.security.triggers import Trigger, summary
from bot.slack.text import escape
from storage.models import Approval, Change

APPROVE = "security_approve"
REQUEST_CHANGES = "security_request_changes"


def security_buttons(card: CardInput) -> list[ButtonElement]:
    """Shown to everyone (Slack cannot hide a button per person); only the security team's
    clicks are acted upon."""
    if not awaits_security_review(card.facts):
        return []
    value = str(card.change_id)
    return [
        ButtonElement(action_id=APPROVE, text="Security review: approve", value=value,
                      style="primary"),
        ButtonElement(action_id=REQUEST_CHANGES, text="Security review: request changes",
                      value=value),
    ]


def security_notes(change: Change, _approvals: Sequence[Approval]) -> list[str]:
    if not change.security_required:
        return []
    triggers = [Trigger(**t) for t in change.security_triggers]
    return [f":shield: Security review required — {summary(triggers)}"] if triggers else []


def security_decision_notes(change: Change, approvals: Sequence[Approval]) -> list[str]:
    notes = []
    if change.security_route_error and awaits_security_review(facts_of(change, approvals)):
        notes.append(f":warning: Security team not reached yet — retrying "
                     f"({change.security_route_error}).")
    for decided in current(approvals, change, "security"):
        if decided.decision == "overridden":
            notes.append(f":warning: Security review bypassed by <@{decided.actor}>: "
                         f"{escape(decided.reason)}")
        elif decided.decision == "changes_requested":
            notes.append(f"Security review: <@{decided.actor}> requested changes: "
                         f"{escape(decided.reason)}")
    return notes


# "No security review needed" (bot.security.dismissal): a review that keywords alone asked for
# may be dismissed by the security team; what the card shows of it.
DISMISS = "security_dismiss"
DISMISSED = "dismissed"
DISMISSIBLE_SOURCES = frozenset({"keyword"})


def dismissible(triggers: Sequence[dict[str, Any]]) -> bool:
    """Whether every reason for the review is a keyword match (and there is one)."""
    return bool(triggers) and all(t.get("source") in DISMISSIBLE_SOURCES for t in triggers)


def dismissed_by(change: Change, approvals: Sequence[Approval]) -> Approval | None:
    """The dismissal of the change's current revision, if any."""
    found = [a for a in current(approvals, change, "security") if a.decision == DISMISSED]
    return found[-1] if found else None


def holds(change: Change, approvals: Sequence[Approval]) -> bool:
    """After the triggers were computed again: the current revision's dismissal still
    stands while keywords alone ask for the review."""
    return (dismissed_by(change, approvals) is not None
            and dismissible(change.security_triggers))


def dismiss_buttons(change_id: int, facts: ChangeFacts,
                    triggers: Sequence[dict[str, Any]]) -> list[ButtonElement]:
    """The card's button while keywords alone ask for a review that is still awaited."""
    if not (awaits_security_review(facts) and dismissible(triggers)):
        return []
    return [ButtonElement(action_id=DISMISS, text="No security review needed",
                          value=str(change_id))]


def dismissal_notes(change: Change, approvals: Sequence[Approval]) -> list[str]:
    dismissed = dismissed_by(change, approvals)
    if dismissed is None:
        return []
    return [f"Security review not needed, says <@{dismissed.actor}> (security team): "
            f"{escape(dismissed.reason)}"]
