"""The change lifecycle: the written change-management process (OPS-01) as pure rules.

The process, step by step, and where each step lives in this module:

1. Change proposal        -> `Status.proposed`; category and risk (`Category`, `Risk`)
2. Automated testing      -> the `ci_gate`: all checks green before production
3. Peer review            -> `approval_rule`, `approvals_gate`, `may_approve`, `may_reject`
4. Security review        -> `security_review_gate`, `may_decide_security`,
                             `awaits_security_review`, `may_override_security`
                             (what triggers one is in `bot.security`)
5. Staging deployment     -> `Status.staging`, the `staging_gate`
6. Production deployment  -> `Status.deploying`, the `business_hours_gate`, `may_operate`
7. Verification           -> `Status.monitoring`, `monitoring_window`, `may_complete`
8. Rollback               -> `Status.rolled_back`, at any time after a deployment
Emergency changes         -> `allowed_next`: straight to production; approval may come after
                             (`approved_after_deployment`); what was skipped is on record
                             (`emergency_bypasses`); a retrospective is due after deployment
                             (`needs_retrospective`, `may_record_retrospective`)

Nothing here talks to Slack, GitHub or a database. Functions take the facts of a change
(`ChangeFacts`), the team's `Policy` and the current time, and return values. Every number
(how many approvals, how long to monitor, business hours) is read from the policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.business_hours import describe, format_moment, is_business_time, next_business_time
from bot.settings import Policy

# --------------------------------------------------------------------------------------
# States, categories, risk
# --------------------------------------------------------------------------------------


class Status(StrEnum):
    proposed = "proposed"
    in_review = "in_review"
    approved = "approved"
    staging = "staging"
    ready = "ready"
    deploying = "deploying"
    monitoring = "monitoring"
    completed = "completed"
    rejected = "rejected"
    cancelled = "cancelled"
    rolled_back = "rolled_back"

    @property
    def label(self) -> str:
        """`in review`, `rolled back`: the status as a word in a sentence."""
        return self.value.replace("_", " ")


class Category(StrEnum):
    """The change categories of the process ("Change Categories")."""

    standard = "standard"  # low-risk, pre-approved patterns (dependency updates, bug fixes)
    normal = "normal"  # most code and infrastructure changes
    high_risk = "high_risk"  # database schema changes, major architecture changes
    emergency = "emergency"  # critical security patches or production outages

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    Category.standard: "Standard",
    Category.normal: "Normal",
    Category.high_risk: "High-risk",
    Category.emergency: "Emergency",
}


class Risk(StrEnum):
    """The risk assessment of the proposal (Step 1)."""

    low = "low"
    medium = "medium"
    high = "high"


class GateState(StrEnum):
    met = "met"
    pending = "pending"
    failed = "failed"
    unknown = "unknown"
    not_required = "not_required"
    bypassed = "bypassed"


# --------------------------------------------------------------------------------------
# Transitions
# --------------------------------------------------------------------------------------

_S = Status

# The normal path is proposed -> in_review -> approved -> staging -> ready -> deploying ->
# monitoring -> completed. A revision (or a new push) sends a change back to review, which
# resets its approvals. A rollback may happen at any time after a production deployment.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    _S.proposed: frozenset({_S.in_review, _S.cancelled}),
    _S.in_review: frozenset({_S.approved, _S.rejected, _S.cancelled, _S.in_review}),
    _S.approved: frozenset({_S.staging, _S.in_review, _S.rejected, _S.cancelled}),
    _S.staging: frozenset({_S.ready, _S.in_review, _S.rejected, _S.cancelled}),
    _S.ready: frozenset({_S.deploying, _S.monitoring, _S.in_review, _S.rejected, _S.cancelled}),
    _S.deploying: frozenset({_S.monitoring, _S.rolled_back}),
    _S.monitoring: frozenset({_S.completed, _S.rolled_back}),
    _S.completed: frozenset({_S.rolled_back}),
    _S.rejected: frozenset({_S.in_review, _S.cancelled}),
    _S.cancelled: frozenset(),
    _S.rolled_back: frozenset(),
}

# Emergency changes: "Deploy immediately", the approval may come after deployment.
EMERGENCY_SHORTCUTS: dict[Status, frozenset[Status]] = {
    status: frozenset({_S.deploying, _S.monitoring})
    for status in (_S.proposed, _S.in_review, _S.approved, _S.staging)
}

# Closed: nothing can happen to the change any more.
CLOSED: frozenset[Status] = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)

# Before production: the change can still be revised, rejected or cancelled.
PRE_PRODUCTION: frozenset[Status] = frozenset(
    {_S.proposed, _S.in_review, _S.approved, _S.staging, _S.ready, _S.rejected}
)

# In production (or was): only a rollback undoes it.
IN_PRODUCTION: frozenset[Status] = frozenset({_S.deploying, _S.monitoring, _S.completed})


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


# --------------------------------------------------------------------------------------
# The facts of a change
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vote:
    """One approval as recorded: the same person may appear twice (double click, GitHub)."""

    user: str
    at: datetime
    is_tech_lead: bool = False
    source: str = "slack"  # slack | github


@dataclass(frozen=True)
class ChangeFacts:
    """What the rules need to know about one change; storage builds it, the rules read it."""

    category: Category
    risk: Risk
    status: Status
    author: str
    approvals: tuple[Vote, ...] = ()
    rejected_by: str | None = None
    security_required: bool = False
    security_approved_by: str | None = None
    security_changes_requested: bool = False
    security_override_by: str | None = None
    pr_linked: bool = False
    ci_state: str = "none"  # none | success | failure | pending | unknown
    ci_failing: tuple[str, ...] = ()
    ci_problem: str = ""  # why CI is unknown when it is not an outage (PR unreadable, …)
    staging_verified: bool = False
    deployed_at: datetime | None = None
    rollback_started_at: datetime | None = None
    rollback_finished_at: datetime | None = None
    retrospective_due_at: datetime | None = None
    retrospective_done_at: datetime | None = None


# --------------------------------------------------------------------------------------
# Step 3: peer review
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalRule:
    """How many distinct approvals a change needs, and how many of them from tech leads."""

    count: int
    tech_leads: int = 0


def approval_rule(policy: Policy, category: Category, risk: Risk) -> ApprovalRule:
    """The process: "Minimum 1 approval for standard changes, 2 for high-risk"; see the policy."""
    review = policy.review
    if category == Category.standard:
        return ApprovalRule(review.standard)
    if category == Category.normal:
        return ApprovalRule(review.normal_high_risk if risk == Risk.high else review.normal)
    if category == Category.high_risk:
        return ApprovalRule(review.high_risk, review.high_risk_tech_leads)
    return ApprovalRule(review.emergency)


def counted_approvers(facts: ChangeFacts, policy: Policy) -> dict[str, bool]:
    """The people whose approval counts, each once, mapped to "is a tech lead".

    Duplicates (a double click, the same person on Slack and GitHub) count once; the
    author's own approval never counts (segregation of duties). GitHub reviews count when
    `policy.github.count_pr_reviews`; a security approval counts as a peer approval when
    `policy.review.security_counts_as_peer`.
    """
    approvers: dict[str, bool] = {}
    for vote in facts.approvals:
        if vote.user == facts.author:
            continue
        if vote.source == "github" and not policy.github.count_pr_reviews:
            continue
        approvers[vote.user] = approvers.get(vote.user, False) or vote.is_tech_lead
    security = facts.security_approved_by
    if policy.review.security_counts_as_peer and security and security != facts.author:
        approvers.setdefault(security, False)
    return approvers


@dataclass(frozen=True)
class ApprovalProgress:
    rule: ApprovalRule
    approvals: int
    tech_leads: int

    @property
    def missing(self) -> int:
        """How many more approvals are needed (tech leads included)."""
        return max(self.rule.count - self.approvals, self.missing_tech_leads, 0)

    @property
    def missing_tech_leads(self) -> int:
        return max(self.rule.tech_leads - self.tech_leads, 0)

    @property
    def met(self) -> bool:
        return self.missing == 0


def approval_progress(facts: ChangeFacts, policy: Policy) -> ApprovalProgress:
    approvers = counted_approvers(facts, policy)
    return ApprovalProgress(
        rule=approval_rule(policy, facts.category, facts.risk),
        approvals=len(approvers),
        tech_leads=sum(approvers.values()),
    )


def approvals_met(facts: ChangeFacts, policy: Policy) -> bool:
    return approval_progress(facts, policy).met


def status_after_vote(facts: ChangeFacts, policy: Policy) -> Status:
    """A change in review becomes approved once its approvals are met; otherwise it stays."""
    if facts.status == Status.in_review and approvals_met(facts, policy):
        return Status.approved
    return facts.status


def status_after_withdrawal(facts: ChangeFacts, policy: Policy) -> Status:
    """An approval withdrawn before production (a GitHub review changed to "changes
    requested" or dismissed) sends the change back to review when the rest fall short."""
    if facts.status in (Status.approved, Status.staging, Status.ready) and not approvals_met(
        facts, policy
    ):
        return Status.in_review
    return facts.status


# Before production a change's approvals are for the code as it was; after, they are history.
RESET_ON_PUSH = frozenset({_S.proposed, _S.in_review, _S.approved, _S.staging, _S.ready})


def push_resets_approvals(facts: ChangeFacts, policy: Policy) -> bool:
    """A new commit on the linked PR voids the approvals given so far: "approve a SHA, not a
    branch" (policy `github.reset_approvals_on_push`). Not once the change is in production,
    nor while it is rejected (the author revises it, which resets them anyway)."""
    return policy.github.reset_approvals_on_push and facts.status in RESET_ON_PUSH


def status_after_push(facts: ChangeFacts, policy: Policy) -> Status:
    """A new push to the linked PR sends an approved change back to review (policy)."""
    reviewed = {Status.approved, Status.staging, Status.ready}
    if policy.github.reset_approvals_on_push and facts.status in reviewed:
        return Status.in_review
    return facts.status


# --------------------------------------------------------------------------------------
# Gates before production
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """One condition before production, as shown on the change card, with why and how.

    `blocks_production` is false for a check that may be completed after deployment (the
    approval of an emergency change): it is shown as pending but does not hold the deploy.
    """

    key: str
    label: str
    state: GateState
    detail: str
    how_to_open: str = ""
    blocks_production: bool = True


GateCheck = Callable[[ChangeFacts, Policy, datetime], Gate]

# The gates by key, in the order of the process. The key is what is recorded (the gate
# states of a deployment, `Change.deploy_exceptions`) and what the evidence pack names as
# the rule; the label is what people read.
GATE_LABELS: dict[str, str] = {
    "ci": "CI",
    "approvals": "Approvals",
    "security_review": "Security review",
    "staging": "Staging",
    "business_hours": "Business hours",
}

# The gates an emergency may complete after its deployment: pending, they do not hold it
# (the policy's `windows.emergency_approval` is how long they may take).
AFTER_DEPLOYMENT_GATES = frozenset({"approvals", "security_review"})


def ci_gate(facts: ChangeFacts, policy: Policy, now: datetime) -> Gate:
    """Step 2: "All tests must pass before merge" (when a pull request is linked)."""

    def gate(state: GateState, detail: str, how: str = "") -> Gate:
        if (facts.category == Category.emergency and not policy.emergency.require_ci
                and state not in OPEN_GATE_STATES):
            # The team's policy lets an outage fix go out before CI; the deploy records it.
            return Gate("ci", GATE_LABELS["ci"], state,
                        f"{detail} — does not hold an emergency deploy",
                        "", False)
        return Gate("ci", GATE_LABELS["ci"], state, detail, how)

    if not facts.pr_linked:
        return gate(GateState.not_required, "no pull request linked")
    if not policy.github.require_ci:
        return gate(GateState.not_required, "not required by policy")
    if facts.ci_state == "success":
        return gate(GateState.met, "all checks passed")
    if facts.ci_state == "failure":
        failing = ", ".join(facts.ci_failing)
        detail = f"failing: {failing}" if failing else "checks failed"
        return gate(GateState.failed, detail, "fix the failing checks and push again")
    if facts.ci_state == "pending":
        return gate(GateState.pending, "checks running", "wait for the checks to finish")
    if facts.ci_state == "none":
        return gate(GateState.pending, "no checks reported yet", "wait for CI to report")
    if facts.ci_problem:
        how = ("connect GitHub (GITHUB_TOKEN), or turn off github.require_ci in the policy"
               if "not connected" in facts.ci_problem
               else "fix the link, or the bot's access to GitHub")
        return gate(GateState.unknown, f"unknown — {facts.ci_problem}", how)
    return gate(GateState.unknown, "unknown — GitHub unreachable", "retry once GitHub answers")


def approvals_gate(facts: ChangeFacts, policy: Policy, now: datetime) -> Gate:
    """Step 3: the approvals the category needs, from people other than the author."""
    progress = approval_progress(facts, policy)
    rule = progress.rule

    def gate(state: GateState, detail: str, how: str = "", blocks: bool = True) -> Gate:
        return Gate("approvals", GATE_LABELS["approvals"], state, detail, how, blocks)

    if facts.status == Status.rejected:
        by = f" by <@{facts.rejected_by}>" if facts.rejected_by else ""
        return gate(GateState.failed, f"rejected{by}", "revise the change and resubmit it")
    if rule.count == 0 and rule.tech_leads == 0:
        return gate(GateState.not_required, "no approval required by policy")
    noun = "approval" if rule.count == 1 else "approvals"
    detail = f"{progress.approvals} of {rule.count} {noun}"
    if progress.met:
        if approved_after_deployment(facts, policy):
            detail += " — approved after deployment"
        return gate(GateState.met, detail)
    if progress.missing_tech_leads:
        detail += f" — {_needs_tech_leads(progress)}"
    how = _more_approvals(progress)
    if facts.category == Category.emergency:
        return gate(GateState.pending, f"{detail} — may come after deployment", how, False)
    return gate(GateState.pending, detail, how)


def security_review_gate(facts: ChangeFacts, policy: Policy, now: datetime) -> Gate:
    """Step 4: the security team approves security-sensitive changes (see bot.security)."""
    key = "security_review"

    def gate(state: GateState, detail: str, how: str = "", blocks: bool = True) -> Gate:
        return Gate(key, GATE_LABELS[key], state, detail, how, blocks)

    if not facts.security_required:
        return gate(GateState.not_required, "not triggered")
    if facts.security_override_by:
        return gate(GateState.bypassed, f"overridden by <@{facts.security_override_by}>")
    if facts.security_changes_requested:
        return gate(
            GateState.failed,
            "changes requested",
            "address the security team's comments and revise the change",
        )
    if facts.security_approved_by:
        return gate(GateState.met, f"approved by <@{facts.security_approved_by}>")
    how = "an approval from the security team"
    if facts.category == Category.emergency:
        return gate(
            GateState.pending,
            "waiting for the security team — may come after deployment",
            how,
            False,
        )
    return gate(GateState.pending, "waiting for the security team", how)


def staging_gate(facts: ChangeFacts, policy: Policy, now: datetime) -> Gate:
    """Step 5: the change is validated in staging (not for emergencies)."""

    def gate(state: GateState, detail: str, how: str = "") -> Gate:
        return Gate("staging", GATE_LABELS["staging"], state, detail, how)

    if facts.category == Category.emergency:
        return gate(GateState.not_required, "not required for emergency changes")
    if facts.staging_verified:
        return gate(GateState.met, "validated in staging")
    return gate(
        GateState.pending,
        "not validated in staging yet",
        "deploy to staging and mark it verified",
    )


def business_hours_gate(facts: ChangeFacts, policy: Policy, now: datetime) -> Gate:
    """Step 6: "Deploy during business hours (unless emergency)"."""
    hours = policy.business_hours

    def gate(state: GateState, detail: str, how: str = "") -> Gate:
        return Gate("business_hours", GATE_LABELS["business_hours"], state, detail, how)

    if facts.category == Category.emergency:
        return gate(GateState.not_required, "not required for emergency changes")
    if is_business_time(hours, now):
        return gate(GateState.met, f"inside business hours ({describe(hours)})")
    opening = format_moment(hours, next_business_time(hours, now))
    return gate(
        GateState.failed,
        f"outside business hours ({describe(hours)})",
        f"deploy after {opening}",
    )


# The gates in the order of the process. A new gate is one more function in this list.
GATES: list[GateCheck] = [
    ci_gate,
    approvals_gate,
    security_review_gate,
    staging_gate,
    business_hours_gate,
]

OPEN_GATE_STATES = frozenset({GateState.met, GateState.not_required, GateState.bypassed})


def gates(facts: ChangeFacts, policy: Policy, now: datetime) -> list[Gate]:
    """Every gate before production, evaluated at `now`, in the order of the process."""
    return [check(facts, policy, now) for check in GATES]


def production_blockers(facts: ChangeFacts, policy: Policy, now: datetime) -> list[Gate]:
    """The gates that hold the change out of production right now."""
    return [
        gate
        for gate in gates(facts, policy, now)
        if gate.state not in OPEN_GATE_STATES and gate.blocks_production
    ]


def _needs_tech_leads(progress: ApprovalProgress) -> str:
    missing = progress.missing_tech_leads
    if missing == 1:
        return "needs a tech lead" if progress.tech_leads == 0 else "needs another tech lead"
    return f"needs {missing} more tech leads"


def _more_approvals(progress: ApprovalProgress) -> str:
    more, leads = progress.missing, progress.missing_tech_leads

    def amount(n: int, noun: str) -> str:
        return f"one more {noun}" if n == 1 else f"{n} more {noun}s"

    if leads == 0:
        return amount(more, "approval")
    lead_words = "a tech lead" if leads == 1 else f"{leads} tech leads"
    if leads == more:
        return f"{amount(more, 'approval')} from {lead_words}"
    return f"{amount(more, 'approval')}, {'one' if leads == 1 else leads} from {lead_words}"


# --------------------------------------------------------------------------------------
# Who may do what
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """Allowed or not; when refused, `reason` is what the person reads (ephemeral)."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def _refuse(reason: str) -> Decision:
    return Decision(False, reason)


# How a status reads after "This change is …".
_STATE_PHRASES: dict[Status, str] = {
    _S.proposed: "not in review yet",
    _S.in_review: "in review",
    _S.approved: "approved",
    _S.staging: "in staging",
    _S.ready: "ready for production",
    _S.deploying: "being deployed to production",
    _S.monitoring: "being monitored in production",
    _S.completed: "completed",
    _S.rejected: "rejected",
    _S.cancelled: "cancelled",
    _S.rolled_back: "rolled back",
}


def _is(status: Status) -> str:
    return f"This change is {_STATE_PHRASES[status]}"


_APPROVABLE = frozenset({_S.proposed, _S.in_review, _S.approved, _S.staging, _S.ready})
_APPROVABLE_EMERGENCY = _APPROVABLE | IN_PRODUCTION


def may_approve(facts: ChangeFacts, user: str) -> Decision:
    """Peer review: anyone but the author, once, before production (emergencies: after too)."""
    if user == facts.author:
        return _refuse(
            "You can't approve your own change: segregation of duties requires someone "
            "else to review it."
        )
    # A GitHub review by the same person does not stop a Slack approval: counting
    # deduplicates them, and the policy may not count GitHub reviews at all.
    if any(v.user == user and v.source != "github" for v in facts.approvals):
        return _refuse("You have already approved this change: your approval counts once.")
    emergency = facts.category == Category.emergency
    if facts.status in (_APPROVABLE_EMERGENCY if emergency else _APPROVABLE):
        return ALLOWED
    if facts.status == Status.rejected:
        return _refuse(f"{_is(facts.status)}: it can be approved again once the author revises it.")
    if facts.status in IN_PRODUCTION:
        return _refuse(
            f"{_is(facts.status)}: approvals are closed. Only emergency changes may be "
            "approved after deployment."
        )
    return _refuse(f"{_is(facts.status)}: there is nothing left to approve.")


_REJECTABLE = frozenset({_S.in_review, _S.approved, _S.staging, _S.ready})


def may_reject(facts: ChangeFacts, user: str) -> Decision:
    """Any reviewer but the author may reject a change before production."""
    if user == facts.author:
        return _refuse(
            "You can't reject your own change: revise it, or cancel it if it is no longer needed."
        )
    if facts.status in _REJECTABLE:
        return ALLOWED
    if facts.status == Status.proposed:
        return _refuse(f"{_is(facts.status)}: wait until it is submitted for review.")
    if facts.status == Status.rejected:
        return _refuse("This change is already rejected.")
    if facts.status in IN_PRODUCTION:
        return _refuse(f"{_is(facts.status)}: roll it back instead of rejecting it.")
    return _refuse(f"{_is(facts.status)}: there is nothing left to reject.")


def _author_before_production(
    facts: ChangeFacts, user: str, verb: str, in_production: str
) -> Decision:
    if user != facts.author:
        return _refuse(f"Only the author (<@{facts.author}>) can {verb} this change.")
    if facts.status in PRE_PRODUCTION:
        return ALLOWED
    if facts.status in IN_PRODUCTION:
        return _refuse(f"{_is(facts.status)}: {in_production}")
    return _refuse(f"{_is(facts.status)}: propose a new change instead.")


def may_link_pr(facts: ChangeFacts, user: str) -> Decision:
    """The author links (or re-links) the change's pull request while the change is open."""
    if user != facts.author:
        return _refuse(
            f"Only the author (<@{facts.author}>) can link a pull request to this change."
        )
    if facts.status in CLOSED:
        return _refuse(f"{_is(facts.status)}: propose a new change instead.")
    return ALLOWED


def may_revise(facts: ChangeFacts, user: str) -> Decision:
    """The author revises a change before production; it goes back to review."""
    return _author_before_production(
        facts, user, "revise", "it can no longer be revised. Propose a new change instead."
    )


def may_cancel(facts: ChangeFacts, user: str) -> Decision:
    """The author cancels a change before production."""
    if facts.status == Status.cancelled:
        return _refuse("This change is already cancelled.")
    return _author_before_production(
        facts, user, "cancel", "roll it back instead of cancelling it."
    )


_SECURITY_DECIDABLE = _APPROVABLE
_SECURITY_DECIDABLE_EMERGENCY = _APPROVABLE_EMERGENCY


def may_decide_security(facts: ChangeFacts, user: str, in_security_group: bool) -> Decision:
    """Step 4: only the security team approves or requests changes, never on its own change."""
    if not in_security_group:
        return _refuse(
            "Only members of the security team can approve a security review or request changes."
        )
    if user == facts.author:
        return _refuse(
            "You can't review the security of your own change: another member of the "
            "security team must."
        )
    if not facts.security_required:
        return _refuse("This change does not need a security review.")
    if facts.security_override_by:
        return _refuse(f"The security review was overridden by <@{facts.security_override_by}>.")
    if facts.security_approved_by:
        return _refuse(
            f"The security review was already approved by <@{facts.security_approved_by}>."
        )
    if facts.security_changes_requested:
        return _refuse(
            "The security team already requested changes: the author must revise the change first."
        )
    emergency = facts.category == Category.emergency
    if facts.status in (_SECURITY_DECIDABLE_EMERGENCY if emergency else _SECURITY_DECIDABLE):
        return ALLOWED
    return _refuse(f"{_is(facts.status)}: its security review can no longer be decided.")


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
        return _refuse(
            "Only tech leads can override a security review (and the override is recorded "
            "with their name and reason)."
        )
    if user == facts.author:
        return _refuse(
            "You can't override the security review of your own change: another tech lead "
            "must, or the security team approves it."
        )
    if not facts.security_required:
        return _refuse("This change does not need a security review: there is nothing to override.")
    if facts.security_override_by:
        return _refuse(
            f"The security review was already overridden by <@{facts.security_override_by}>."
        )
    if facts.security_approved_by:
        return _refuse(
            f"The security review was approved by <@{facts.security_approved_by}>: "
            "there is nothing to override."
        )
    if facts.security_changes_requested:
        return _refuse(
            "The security team requested changes: an override can't dismiss them. The author "
            "must revise the change."
        )
    if awaits_security_review(facts):
        return ALLOWED
    return _refuse(f"{_is(facts.status)}: its security review can no longer be decided.")


def awaits_peer_review(facts: ChangeFacts, policy: Policy, reviewer: str) -> bool:
    """A requested reviewer's answer is still awaited: the change still needs approvals
    and the reviewer may give one and has not (a rejection puts it back with the author)."""
    return not approvals_met(facts, policy) and may_approve(facts, reviewer).allowed


@dataclass(frozen=True)
class Operation:
    """A step someone performs on a change: where it may start, and where it leads."""

    verb: str
    moves: dict[Status, Status]
    emergency_moves: dict[Status, Status]
    hint: str


_PRE_DEPLOY_EMERGENCY = tuple(EMERGENCY_SHORTCUTS)

OPERATIONS: dict[str, Operation] = {
    # Step 5: deploy to staging, then mark it validated.
    "staging": Operation(
        "deploy to staging",
        {_S.approved: _S.staging},
        {},
        "it must be approved first",
    ),
    # Step 5 (in staging) or Step 7 (in production, once monitoring is over).
    "verify": Operation(
        "verify",
        {_S.staging: _S.ready, _S.monitoring: _S.completed},
        {},
        "only a change in staging or being monitored in production can be verified",
    ),
    # Step 6: start the production deployment.
    "deploy": Operation(
        "deploy to production",
        {_S.ready: _S.deploying},
        {s: _S.deploying for s in _PRE_DEPLOY_EMERGENCY},
        "it must be validated in staging first",
    ),
    # Step 6 done: the deployment finished (or happened outside the bot); monitoring starts.
    "deployed": Operation(
        "mark as deployed",
        {_S.ready: _S.monitoring, _S.deploying: _S.monitoring},
        {s: _S.monitoring for s in _PRE_DEPLOY_EMERGENCY},
        "it must be validated in staging first",
    ),
    # Step 8: any time after a production deployment.
    "rollback": Operation(
        "roll back",
        {_S.deploying: _S.rolled_back, _S.monitoring: _S.rolled_back, _S.completed: _S.rolled_back},
        {},
        "it has not been deployed to production",
    ),
}


def status_after_step(facts: ChangeFacts, step: str) -> Status | None:
    """Where `step` takes the change from its current status; None when it cannot."""
    operation = _operation(step)
    if facts.category == Category.emergency and facts.status in operation.emergency_moves:
        return operation.emergency_moves[facts.status]
    return operation.moves.get(facts.status)


def may_operate(facts: ChangeFacts, user: str, is_deployer: bool, step: str) -> Decision:
    """Staging, deployment, verification, rollback: the author or the deployers group.

    This checks who and when in the lifecycle; before a production deploy, also check
    `production_blockers`, and before completing, `may_complete`.
    """
    operation = _operation(step)
    if user != facts.author and not is_deployer:
        return _refuse(
            f"Only the author (<@{facts.author}>) or a member of the deployers group can "
            f"{operation.verb}."
        )
    if status_after_step(facts, step) is not None:
        return ALLOWED
    return _refuse(f"You can't {operation.verb} now. {_is(facts.status)}: {operation.hint}.")


# What a production deployment skipped of the process is recorded in `Change.deploy_exceptions`
# as `"<key>: <why>"`: the key names the rule (a gate, or NOT_READY: the change was not ready
# for production, e.g. still in review or cancelled) for the evidence pack, the why is for
# people. `describe_deploy_exception` turns an entry into what the card and messages show.
NOT_READY = "status"
DEPLOY_EXCEPTION_LABELS: dict[str, str] = {**GATE_LABELS, NOT_READY: "Change status"}


def deploy_exception(key: str, why: str) -> str:
    if key not in DEPLOY_EXCEPTION_LABELS:
        raise ValueError(f"{key!r} is not a gate key nor {NOT_READY!r}")
    return f"{key}: {why}"


def parse_deploy_exception(entry: str) -> tuple[str | None, str]:
    """`"ci: failing: build"` -> ("ci", "failing: build"); a bare key -> (key, ""). An entry
    recorded before keys were used (`"CI: failing: build"`) is read by its label; free text
    -> (None, the text)."""
    head, _, why = entry.partition(":")
    head = head.strip()
    if head not in DEPLOY_EXCEPTION_LABELS:
        by_label = {label.lower(): key for key, label in DEPLOY_EXCEPTION_LABELS.items()}
        if head.lower() not in by_label:
            return None, entry.strip()
        head = by_label[head.lower()]
    return head, why.strip()


def describe_deploy_exception(entry: str) -> str:
    """`"ci: failing: build"` -> `CI: failing: build`, as people read it."""
    key, why = parse_deploy_exception(entry)
    if key is None:
        return why
    label = DEPLOY_EXCEPTION_LABELS[key]
    if not why:
        return label
    return why if key == NOT_READY else f"{label}: {why}"


def deployment_exceptions(facts: ChangeFacts, policy: Policy, at: datetime) -> list[str]:
    """What a production deployment that already happened (reported by GitHub) skipped of the
    process, as `deploy_exception` entries: empty when it was in order. It is recorded and
    flagged, never undone."""
    if facts.status in IN_PRODUCTION:
        return []  # the deployment was started through the bot, gates checked then
    found = []
    if status_after_step(facts, "deployed") is None:
        found.append(deploy_exception(
            NOT_READY, f"deployed while the change was {facts.status.label}, not ready for "
                       "production"))
    found += [deploy_exception(gate.key, gate.detail)
              for gate in production_blockers(facts, policy, at)]
    return found


def closed_change_deployed(facts: ChangeFacts) -> str:
    """The exception of a production deployment of a change that was closed (cancelled,
    rolled back): recorded, the change keeps its status."""
    return deploy_exception(NOT_READY, f"deployed by GitHub after the change was "
                                       f"{facts.status.label}")


def _operation(step: str) -> Operation:
    try:
        return OPERATIONS[step]
    except KeyError:
        raise ValueError(f"{step!r} is not a step: use one of {', '.join(OPERATIONS)}") from None


@dataclass(frozen=True)
class DeployDecision(Decision):
    """May this person deploy now? When refused by the gates, `blockers` lists each one."""

    blockers: tuple[Gate, ...] = ()


def may_deploy(
    facts: ChangeFacts, user: str, is_deployer: bool, policy: Policy, now: datetime
) -> DeployDecision:
    """Step 6: the author or a deployer, before production, with every gate open.

    Before production every unmet gate is reported at once (staging, approvals, business
    hours…), so that one refusal says everything that stands in the way.
    """
    operate = may_operate(facts, user, is_deployer, "deploy")
    if user != facts.author and not is_deployer:
        return DeployDecision(False, operate.reason)
    if facts.status not in PRE_PRODUCTION:
        return DeployDecision(False, operate.reason)
    blockers = tuple(production_blockers(facts, policy, now))
    if blockers:
        noun = "gate is" if len(blockers) == 1 else "gates are"
        return DeployDecision(False, f"{len(blockers)} {noun} not met", blockers)
    if not operate:
        return DeployDecision(False, operate.reason)
    return DeployDecision(True)


def needs_manual_deployment(facts: ChangeFacts) -> bool:
    """"Manual deployment for high-risk changes (database migrations, infrastructure)"."""
    return facts.category == Category.high_risk


# The process's words for how a change reaches production (Step 6) and leaves it (Step 8).
DEPLOY_METHODS: dict[str, str] = {
    "blue_green": "Blue/green",
    "rolling": "Rolling",
    "feature_flag": "Feature flag",
    "other": "Other",
}
ROLLBACK_TRIGGERS: dict[str, str] = {
    "errors": "Application errors or crashes",
    "performance": "Performance degradation",
    "security": "Security issue introduced",
    "failed_verification": "Failed verification",
    "other": "Other",
}
ROLLBACK_METHODS: dict[str, str] = {
    "revert": "Revert commit and redeploy",
    "previous_image": "Previous image",
    "feature_flag_off": "Feature flag off",
    "restore_backup": "Restore from backup",
    "other": "Other",
}


# --------------------------------------------------------------------------------------
# Step 5: what staging must have validated
# --------------------------------------------------------------------------------------

STAGING_CHECKS: dict[str, str] = {
    "functional": "Functional testing",
    "performance": "Performance testing",
    "security": "Security testing",
    "no_breaking_changes": "No breaking changes",
}


def required_staging_checks(facts: ChangeFacts) -> list[str]:
    """Functional testing and no breaking changes; security testing "if needed", i.e. when
    the change needs a security review. Performance testing is recorded when done."""
    required = ["functional", "no_breaking_changes"]
    if facts.security_required:
        required.append("security")
    return required


def may_verify_staging(facts: ChangeFacts, user: str, is_deployer: bool) -> Decision:
    """The author or a deployer marks a change in staging as validated."""
    decision = may_operate(facts, user, is_deployer, "verify")
    if decision and facts.status != Status.staging:
        return _refuse(f"{_is(facts.status)}: only a change in staging can be marked "
                       "verified in staging.")
    return decision


def check_staging_validation(facts: ChangeFacts, checks: Collection[str]) -> Decision:
    missing = [c for c in required_staging_checks(facts) if c not in checks]
    if not missing:
        return ALLOWED
    why = " (this change needs a security review)" if "security" in missing else ""
    labels = _and([STAGING_CHECKS[c] for c in missing]).lower()
    return _refuse(
        f"Staging must validate {labels}{why}: tick what you checked, or keep testing "
        "before marking staging verified."
    )


# --------------------------------------------------------------------------------------
# Step 7: post-deployment verification
# --------------------------------------------------------------------------------------

PRODUCTION_CHECKS: dict[str, str] = {
    "logs": "Logs checked for errors",
    "metrics": "Metrics checked (error rate, latency, resources)",
    "functionality": "Functionality verified in production",
}


def may_verify_production(
    facts: ChangeFacts, user: str, is_deployer: bool, policy: Policy, now: datetime
) -> Decision:
    """The author or a deployer closes a change once its monitoring window is over."""
    decision = may_operate(facts, user, is_deployer, "verify")
    if not decision:
        return decision
    return may_complete(facts, policy, now)


def check_verification(checks: Collection[str]) -> Decision:
    """The process's verification: logs, metrics and functionality, each of them."""
    missing = [label for key, label in PRODUCTION_CHECKS.items() if key not in checks]
    if not missing:
        return ALLOWED
    return _refuse(
        f"Not verified yet: {_and(missing).lower()}. Close the change once each is done, "
        "or roll it back if something is wrong."
    )


def monitoring_window(policy: Policy, category: Category) -> timedelta:
    """The process: "Monitoring period: 30 minutes minimum"; high-risk: "extra monitoring"."""
    if category == Category.high_risk:
        return policy.windows.monitoring_high_risk
    return policy.windows.monitoring


def monitoring_ends_at(facts: ChangeFacts, policy: Policy) -> datetime | None:
    """When the monitoring window after the production deployment is over (UTC)."""
    if facts.deployed_at is None:
        return None
    return facts.deployed_at.astimezone(UTC) + monitoring_window(policy, facts.category)


def may_complete(facts: ChangeFacts, policy: Policy, now: datetime) -> Decision:
    """A change being monitored completes once the monitoring window is over."""
    if facts.status != Status.monitoring:
        return _refuse(f"{_is(facts.status)}: only a change being monitored can complete.")
    ends = monitoring_ends_at(facts, policy)
    if ends is not None and now < ends:
        window = _spell(monitoring_window(policy, facts.category))
        return _refuse(
            f"Keep monitoring until {format_moment(policy.business_hours, ends)}: the "
            f"process asks for {window} of monitoring after the deployment."
        )
    return ALLOWED


# --------------------------------------------------------------------------------------
# Step 8: rollback
# --------------------------------------------------------------------------------------


def may_finish_rollback(facts: ChangeFacts, user: str, is_deployer: bool) -> Decision:
    """Whoever may roll back marks the rollback finished, once, so its duration is known."""
    if user != facts.author and not is_deployer:
        return _refuse(
            f"Only the author (<@{facts.author}>) or a member of the deployers group can "
            "mark the rollback finished."
        )
    if facts.status != Status.rolled_back or facts.rollback_started_at is None:
        return _refuse(f"{_is(facts.status)}: there is no rollback to finish.")
    if facts.rollback_finished_at is not None:
        return _refuse("This rollback is already marked finished.")
    return ALLOWED


def rollback_duration(facts: ChangeFacts) -> timedelta | None:
    if facts.rollback_started_at is None or facts.rollback_finished_at is None:
        return None
    return facts.rollback_finished_at - facts.rollback_started_at


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _spell(delta: timedelta) -> str:
    """`30 minutes`, `1 hour`, `90 seconds`."""
    seconds = int(delta.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds} seconds"


# --------------------------------------------------------------------------------------
# Emergency changes: deploy now, approval and retrospective after
# --------------------------------------------------------------------------------------


def approved_after_deployment(facts: ChangeFacts, policy: Policy) -> bool:
    """Its approvals are met now and were not when it was deployed (emergencies only can)."""
    if facts.deployed_at is None or not approvals_met(facts, policy):
        return False
    before = tuple(v for v in facts.approvals if v.at <= facts.deployed_at)
    return not approvals_met(replace(facts, approvals=before), policy)


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
        return _refuse("Only emergency changes have a retrospective.")
    if user != facts.author and not is_tech_lead:
        return _refuse(
            f"Only the author (<@{facts.author}>) or a tech lead can record the retrospective."
        )
    if facts.retrospective_done_at is not None:
        return _refuse("The retrospective of this change is already recorded.")
    if facts.deployed_at is None:
        return _refuse(
            f"{_is(facts.status)}: it has not been deployed, so there is no retrospective yet "
            "(it falls due after the deployment)."
        )
    return ALLOWED


def status_after_retrospective(facts: ChangeFacts, policy: Policy, now: datetime) -> Status:
    """The retrospective closes an emergency still being monitored once its window is over
    (it reviews the change); a verified or rolled-back one keeps its status."""
    if facts.status == Status.monitoring and may_complete(facts, policy, now):
        return Status.completed
    return facts.status


# --------------------------------------------------------------------------------------
# Change ids as people write them
# --------------------------------------------------------------------------------------

_CHANGE_ID = re.compile(r"^(?:chg[-\s]?)?(\d+)$", re.IGNORECASE)


def format_change_id(n: int) -> str:
    return f"CHG-{n}"


def parse_change_id(text: str) -> int:
    """`CHG-12`, `chg-12` or `12` -> 12."""
    match = _CHANGE_ID.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a change id: write it like CHG-12")
    return int(match.group(1))


# --------------------------------------------------------------------------------------
# Validation and evidence
# --------------------------------------------------------------------------------------


def evidence_group(policy: Policy) -> str | None:
    """Who may export evidence packs: the policy's evidence group, else the tech leads."""
    return policy.groups.evidence or policy.groups.tech_leads


def may_export_evidence(in_group: bool, group: str | None) -> Decision:
    """An evidence pack names every change and person of a period: only the policy's group
    ("Validation and Evidence") exports it."""
    if group is None:
        return _refuse(
            "Nobody may export evidence yet: set groups.evidence (or groups.tech_leads) in "
            "the policy."
        )
    if not in_group:
        return _refuse(f"Only members of <!subteam^{group}> can export evidence packs.")
    return ALLOWED
