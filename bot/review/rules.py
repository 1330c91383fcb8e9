"""Step 3, peer review: how many approvals a change needs, who may approve or reject it, and
what a vote, a revision or a new push does to its status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.change.decisions import ALLOWED, Decision, refuse, this_is
from bot.change.facts import ChangeFacts
from bot.change.paths import files_outside, patterns_touched
from bot.change.states import (
    APPROVABLE,
    APPROVABLE_EMERGENCY,
    CLOSED,
    IN_PRODUCTION,
    PRE_PRODUCTION,
    Category,
    Risk,
    Status,
)
from bot.policy import Policy


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
        # "2 reviewer approvals + tech lead": by default the tech leads come on top of the
        # peers (three people); `review.tech_lead_counts_as_peer` makes them one of them.
        leads = review.high_risk_tech_leads
        count = review.high_risk + (0 if review.tech_lead_counts_as_peer else leads)
        return ApprovalRule(count, leads)
    return ApprovalRule(review.emergency)


def approvals_wanted(rule: ApprovalRule, policy: Policy) -> str:
    """The approvals a rule asks for, as the process counts them: "1 approval", "2 peer
    approvals and a tech lead" (three people), or with `review.tech_lead_counts_as_peer`
    "2 approvals, one of them from a tech lead"."""
    count, leads = rule.count, rule.tech_leads
    if not leads:
        return f"{count} approval{'' if count == 1 else 's'}"
    lead_words = "a tech lead" if leads == 1 else f"{leads} tech leads"
    if policy.review.tech_lead_counts_as_peer:
        return (f"{count} approval{'' if count == 1 else 's'}, "
                f"{'one' if leads == 1 else leads} of them from {lead_words}")
    peers = count - leads
    return f"{peers} peer approval{'' if peers == 1 else 's'} and {lead_words}"


def standard_fit(facts: ChangeFacts, policy: Policy) -> tuple[str | None, str]:
    """For a change declared standard: the template it fits, or (None, why it fits none).
    "Standard changes: pre-approved patterns" — with no templates in the policy, the
    declaration is trusted."""
    templates = policy.proposal.templates
    if not templates:
        return "", ""
    why = []
    carried = {label.lower() for label in facts.pr_labels}
    for template in templates:
        if template.labels and not carried & {label.lower() for label in template.labels}:
            named = " or ".join(f"`{label}`" for label in template.labels)
            why.append(f"“{template.name}” needs its pull request labelled {named}")
            continue
        if not template.only_paths:
            return template.name, ""
        if not facts.changed_files:
            why.append(f"“{template.name}” needs its pull request's files")
            continue
        outside = files_outside(template.only_paths, facts.changed_files)
        if not outside:
            return template.name, ""
        more = f" and {len(outside) - 1} more" if len(outside) > 1 else ""
        why.append(f"“{template.name}” does not cover `{outside[0]}`{more}")
    return None, "; ".join(why)


def effective_category(facts: ChangeFacts, policy: Policy) -> Category:
    """A change declared standard that fits no template is handled as normal."""
    if facts.category == Category.standard and standard_fit(facts, policy)[0] is None:
        return Category.normal
    return facts.category


def suggested_high_risk(facts: ChangeFacts, policy: Policy) -> list[str]:
    """The migration paths (`proposal.migration_paths`) its pull request touches, when its
    risk is not high: "High-risk changes: database schema changes". A suggestion only."""
    if facts.risk == Risk.high or facts.category in (Category.high_risk, Category.emergency):
        return []
    return patterns_touched(policy.proposal.migration_paths, facts.changed_files)


def counted_approvers(facts: ChangeFacts, policy: Policy) -> dict[str, bool]:
    """The people whose approval counts, each once, mapped to "is a tech lead".

    Duplicates (a double click, the same person on Slack and GitHub) count once; the
    author's own approval never counts (segregation of duties). GitHub reviews count when
    `policy.github.count_pr_reviews`; a security approval counts as a peer approval when
    `policy.review.security_counts_as_peer`.
    """
    approvers: dict[str, bool] = {}
    for vote in facts.approvals:
        if facts.is_author(vote.user):
            continue
        if vote.source == "github" and not policy.github.count_pr_reviews:
            continue
        approvers[vote.user] = approvers.get(vote.user, False) or vote.is_tech_lead
    security = facts.security_approved_by
    if policy.review.security_counts_as_peer and security and not facts.is_author(security):
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
        rule=approval_rule(policy, effective_category(facts, policy), facts.risk),
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
RESET_ON_PUSH = frozenset(
    {Status.proposed, Status.in_review, Status.approved, Status.staging, Status.ready}
)


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


def may_approve(facts: ChangeFacts, user: str) -> Decision:
    """Peer review: anyone but the author, once, before production (emergencies: after too)."""
    if user == facts.author:
        return refuse(
            "You can't approve your own change: segregation of duties requires someone "
            "else to review it."
        )
    if facts.is_author(user):
        return refuse(
            "You can't approve this change: you wrote its pull request, and segregation of "
            "duties requires someone else to review it."
        )
    # A GitHub review by the same person does not stop a Slack approval: counting
    # deduplicates them, and the policy may not count GitHub reviews at all.
    if any(v.user == user and v.source != "github" for v in facts.approvals):
        return refuse("You have already approved this change: your approval counts once.")
    emergency = facts.category == Category.emergency
    if emergency and facts.status == Status.completed and any(
        v.user != facts.author for v in facts.approvals
    ):  # closed, and its approval after deployment came: one more would count for nothing
        return refuse(f"{this_is(facts.status)}: it is closed, so approvals are closed.")
    if facts.status in (APPROVABLE_EMERGENCY if emergency else APPROVABLE):
        return ALLOWED
    if facts.status == Status.rejected:
        return refuse(
            f"{this_is(facts.status)}: it can be approved again once the author revises it."
        )
    if facts.status in IN_PRODUCTION:
        return refuse(
            f"{this_is(facts.status)}: approvals are closed. Only emergency changes may be "
            "approved after deployment."
        )
    return refuse(f"{this_is(facts.status)}: there is nothing left to approve.")


_REJECTABLE = frozenset({Status.in_review, Status.approved, Status.staging, Status.ready})


def may_count_approval(policy: Policy, *, reviewer: bool, tech_lead: bool,
                       infrastructure: bool, code_owner: bool = False) -> Decision:
    """"Reviewer: peer or senior engineer": with `groups.reviewers` set, only its members'
    approvals count — and the tech leads', the infrastructure team's and the code owners'
    (whose approval the change awaits), whose approvals the process asks for by name."""
    group = policy.groups.reviewers
    if group is None or reviewer or tech_lead or infrastructure or code_owner:
        return ALLOWED
    return refuse(
        f"Only the reviewers (<!subteam^{group}>), the tech leads and the infrastructure "
        "team can approve changes. Nothing was recorded."
    )


def may_reject(facts: ChangeFacts, user: str) -> Decision:
    """Any reviewer but the author may reject a change before production."""
    if user == facts.author:
        return refuse(
            "You can't reject your own change: revise it, or cancel it if it is no longer needed."
        )
    if facts.status in _REJECTABLE:
        return ALLOWED
    if facts.status == Status.proposed:
        return refuse(f"{this_is(facts.status)}: wait until it is submitted for review.")
    if facts.status == Status.rejected:
        return refuse("This change is already rejected.")
    if facts.status in IN_PRODUCTION:
        return refuse(f"{this_is(facts.status)}: roll it back instead of rejecting it.")
    return refuse(f"{this_is(facts.status)}: there is nothing left to reject.")


def _author_before_production(
    facts: ChangeFacts, user: str, verb: str, in_production: str
) -> Decision:
    if user != facts.author:
        return refuse(f"Only the author (<@{facts.author}>) can {verb} this change.")
    if facts.status in PRE_PRODUCTION:
        return ALLOWED
    if facts.status in IN_PRODUCTION:
        return refuse(f"{this_is(facts.status)}: {in_production}")
    return refuse(f"{this_is(facts.status)}: propose a new change instead.")


def may_link_pr(facts: ChangeFacts, user: str) -> Decision:
    """The author links (or re-links) the change's pull request while the change is open."""
    if user != facts.author:
        return refuse(
            f"Only the author (<@{facts.author}>) can link a pull request to this change."
        )
    if facts.status in CLOSED:
        return refuse(f"{this_is(facts.status)}: propose a new change instead.")
    return ALLOWED


def may_revise(facts: ChangeFacts, user: str) -> Decision:
    """The author revises a change before production; it goes back to review."""
    return _author_before_production(
        facts, user, "revise", "it can no longer be revised. Propose a new change instead."
    )


def may_cancel(facts: ChangeFacts, user: str) -> Decision:
    """The author cancels a change before production."""
    if facts.status == Status.cancelled:
        return refuse("This change is already cancelled.")
    return _author_before_production(
        facts, user, "cancel", "roll it back instead of cancelling it."
    )


def may_add_approval(facts: ChangeFacts, user: str, policy: Policy, *,
                     completes_gate: bool = False) -> Decision:
    """An approval in Slack: `may_approve`, and only while approvals are still needed once
    the change has left review (an emergency approved after its deployment counts once) —
    or while the infrastructure team's or a code owner's is, from one of them
    (`completes_gate`)."""
    decision = may_approve(facts, user)
    if not decision.allowed or facts.status in (Status.proposed, Status.in_review):
        return decision
    progress = approval_progress(facts, policy)
    if progress.met and not completes_gate:
        return refuse(
            f"{this_is(facts.status)} and its approvals are already complete "
            f"({progress.approvals} of {progress.rule.count}): nothing was recorded."
        )
    return ALLOWED


def awaits_peer_review(facts: ChangeFacts, policy: Policy, reviewer: str) -> bool:
    """A requested reviewer's answer is still awaited: the change still needs approvals
    and the reviewer may give one and has not (a rejection puts it back with the author)."""
    return not approvals_met(facts, policy) and may_approve(facts, reviewer).allowed


def approved_after_deployment(facts: ChangeFacts, policy: Policy) -> bool:
    """Its approvals are met now and were not when it was deployed (emergencies only can)."""
    if facts.deployed_at is None or not approvals_met(facts, policy):
        return False
    before = tuple(v for v in facts.approvals if v.at <= facts.deployed_at)
    return not approvals_met(replace(facts, approvals=before), policy)
