"""Emergency changes: deploy now, approval and retrospective after, every bypass on record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.change.decisions import ALLOWED, Decision, refuse, this_is
from bot.change.facts import ChangeFacts
from bot.change.gates import OPEN_GATE_STATES, ci_gate, security_review_gate
from bot.change.states import IN_PRODUCTION, Category, Status
from bot.deployment.business_hours import (
    describe,
    is_business_time,
)
from bot.deployment.rules import may_complete
from bot.policy import Policy
from bot.review.rules import approval_progress, approvals_met
from bot.schedule.freeze import freeze_at


def awaits_emergency_approval(facts: ChangeFacts, policy: Policy) -> bool:
    """An emergency in production whose approval is still missing (and may still come)."""
    return (
        facts.category == Category.emergency
        and facts.status in IN_PRODUCTION
        and not approvals_met(facts, policy)
    )


@dataclass(frozen=True)
class Bypass:
    """A gate the emergency process skipped at deployment, in words for the record."""

    gate: str
    reason: str


def emergency_bypasses(facts: ChangeFacts, policy: Policy, now: datetime) -> list[Bypass]:
    """What deploying this emergency at `now` skips that another change could not.

    Staging and business hours are "not required" on an emergency's card, and its
    approvals, security review and CI "may come after deployment": this says which of them
    were in fact skipped, so that each is kept as an audit event of the deployment.
    """
    if facts.category != Category.emergency:
        return []
    why = "under the emergency process"
    bypassed: list[Bypass] = []
    ci = ci_gate(replace(facts, category=Category.normal), policy, now)  # as it would hold
    if ci.state not in OPEN_GATE_STATES:
        bypassed.append(Bypass("ci", f"deployed with CI not green ({ci.detail}) {why}"))
    progress = approval_progress(facts, policy)
    if not progress.met:
        bypassed.append(Bypass(
            "approvals",
            f"deployed before approval ({progress.approvals} of {progress.rule.count}) {why}: "
            "the approval may come after deployment",
        ))
    security = security_review_gate(replace(facts, category=Category.normal), policy, now)
    if security.state not in OPEN_GATE_STATES:
        bypassed.append(Bypass(
            "security_review", f"deployed before the security review ({security.detail}) {why}"
        ))
    if not facts.staging_verified:
        bypassed.append(Bypass("staging", f"deployed without validation in staging {why}"))
    hours = policy.business_hours
    if not is_business_time(hours, now):
        bypassed.append(Bypass(
            "business_hours", f"deployed outside business hours ({describe(hours)}) {why}"
        ))
    holding = freeze_at(policy, facts.freezes, now)
    if holding is not None:
        bypassed.append(Bypass("freeze", f"deployed inside the freeze {holding.said} {why}"))
    return bypassed


def retrospective_due(policy: Policy, deployed_at: datetime) -> datetime:
    """The process: "Retrospective within 24 hours" of the emergency deployment (policy)."""
    return deployed_at.astimezone(UTC) + policy.windows.retrospective


def needs_retrospective(facts: ChangeFacts) -> bool:
    """A deployed emergency whose retrospective is not recorded yet (rolled back or not)."""
    return (
        facts.category == Category.emergency
        and facts.deployed_at is not None
        and facts.retrospective_done_at is None
    )


def retrospective_overdue(facts: ChangeFacts, now: datetime) -> bool:
    due = facts.retrospective_due_at
    return needs_retrospective(facts) and due is not None and now >= due


def may_record_retrospective(facts: ChangeFacts, user: str, is_tech_lead: bool) -> Decision:
    """The author, or a tech lead (who often runs it), records an emergency's retrospective."""
    if facts.category != Category.emergency:
        return refuse("Only emergency changes have a retrospective.")
    if user != facts.author and not is_tech_lead:
        return refuse(
            f"Only the author (<@{facts.author}>) or a tech lead can record the retrospective."
        )
    if facts.retrospective_done_at is not None:
        return refuse("The retrospective of this change is already recorded.")
    if facts.deployed_at is None:
        return refuse(
            f"{this_is(facts.status)}: it has not been deployed, so there is no retrospective yet "
            "(it falls due after the deployment)."
        )
    return ALLOWED


def status_after_retrospective(facts: ChangeFacts, policy: Policy, now: datetime) -> Status:
    """The retrospective closes an emergency still being monitored once its window is over
    (it reviews the change); a verified or rolled-back one keeps its status."""
    if facts.status == Status.monitoring and may_complete(facts, policy, now):
        return Status.completed
    return facts.status
