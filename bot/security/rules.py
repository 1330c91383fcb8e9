"""Step 4, security review: who decides it, when it is awaited, when a tech lead may override it.
"""

from __future__ import annotations

from bot.change.decisions import ALLOWED, Decision, refuse, this_is
from bot.change.facts import ChangeFacts
from bot.change.states import APPROVABLE, APPROVABLE_EMERGENCY, Category

_SECURITY_DECIDABLE = APPROVABLE


_SECURITY_DECIDABLE_EMERGENCY = APPROVABLE_EMERGENCY


def may_decide_security(facts: ChangeFacts, user: str, in_security_group: bool) -> Decision:
    """Step 4: only the security team approves or requests changes, never on its own change."""
    if not in_security_group:
        return refuse(
            "Only members of the security team can approve a security review or request changes."
        )
    if facts.is_author(user):
        return refuse(
            "You can't review the security of your own change: another member of the "
            "security team must."
        )
    if not facts.security_required:
        return refuse("This change does not need a security review.")
    if facts.security_override_by:
        return refuse(f"The security review was overridden by <@{facts.security_override_by}>.")
    if facts.security_approved_by:
        return refuse(
            f"The security review was already approved by <@{facts.security_approved_by}>."
        )
    if facts.security_changes_requested:
        return refuse(
            "The security team already requested changes: the author must revise the change first."
        )
    emergency = facts.category == Category.emergency
    if facts.status in (_SECURITY_DECIDABLE_EMERGENCY if emergency else _SECURITY_DECIDABLE):
        return ALLOWED
    return refuse(f"{this_is(facts.status)}: its security review can no longer be decided.")


def awaits_security_review(facts: ChangeFacts) -> bool:
    """The security review is triggered, undecided, and can be decided now: the security
    team is asked for it, reminded of it, and shown its buttons."""
    decided = (
        facts.security_approved_by or facts.security_override_by
        or facts.security_changes_requested
    )
    emergency = facts.category == Category.emergency
    decidable = _SECURITY_DECIDABLE_EMERGENCY if emergency else _SECURITY_DECIDABLE
    return facts.security_required and not decided and facts.status in decidable


def may_override_security(facts: ChangeFacts, user: str, is_tech_lead: bool) -> Decision:
    """A tech lead may bypass a pending security review, on the record with a reason.

    The policy decides when a review is needed; an override never switches that off, it is
    an audited decision by a named person. It cannot dismiss changes the security team
    asked for, and nobody bypasses the review of their own change.
    """
    if not is_tech_lead:
        return refuse(
            "Only tech leads can override a security review (and the override is recorded "
            "with their name and reason)."
        )
    if facts.is_author(user):
        return refuse(
            "You can't override the security review of your own change: another tech lead "
            "must, or the security team approves it."
        )
    if not facts.security_required:
        return refuse("This change does not need a security review: there is nothing to override.")
    if facts.security_override_by:
        return refuse(
            f"The security review was already overridden by <@{facts.security_override_by}>."
        )
    if facts.security_approved_by:
        return refuse(
            f"The security review was approved by <@{facts.security_approved_by}>: "
            "there is nothing to override."
        )
    if facts.security_changes_requested:
        return refuse(
            "The security team requested changes: an override can't dismiss them. The author "
            "must revise the change."
        )
    if awaits_security_review(facts):
        return ALLOWED
    return refuse(f"{this_is(facts.status)}: its security review can no longer be decided.")
