"""The gates before production (steps 2-6 of the process), in the order of the process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.change.facts import ChangeFacts
from bot.change.paths import patterns_touched
from bot.change.states import Category, GateState, Status
from bot.deployment.business_hours import (
    describe,
    format_moment,
    is_business_time,
    next_business_time,
)
from bot.github.codeowners_rules import approved_by, owners_text, why_owned
from bot.github.required_checks import did_not_run, missing_checks
from bot.policy import Policy
from bot.review.rules import ApprovalProgress, approval_progress, approved_after_deployment
from bot.schedule.freeze import freeze_at, next_freeze, thaw_at


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
    "infrastructure": "Infrastructure team",
    "code_owners": "Code owners",
    "security_review": "Security review",
    "staging": "Staging",
    "business_hours": "Business hours",
    "freeze": "Freeze",
}


# The gates an emergency may complete after its deployment: pending, they do not hold it
# (the policy's `windows.emergency_approval` is how long they may take).
AFTER_DEPLOYMENT_GATES = frozenset({"approvals", "infrastructure", "code_owners",
                                    "security_review"})


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
    missing = missing_checks(policy.github.required_checks, facts.ci_checks)
    if facts.ci_state == "success" and missing:
        return gate(GateState.failed, did_not_run(missing),
                    "make CI run it (a deleted or renamed job?) and push again")
    if facts.ci_state == "success":
        return gate(GateState.met, "all checks passed")
    if facts.ci_state == "failure":
        failing = ", ".join(facts.ci_failing)
        detail = f"failing: {failing}" if failing else "checks failed"
        if missing:
            detail += f"; {did_not_run(missing)}"
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

    if facts.status == Status.rejected and (facts.rejected_by
                                            or not facts.security_changes_requested):
        by = f" by <@{facts.rejected_by}>" if facts.rejected_by else ""
        return gate(GateState.failed, f"rejected{by}", "revise the change and resubmit it")
    if rule.count == 0 and rule.tech_leads == 0:
        return gate(GateState.not_required, "no approval required by policy")
    noun = "approval" if rule.count == 1 else "approvals"
    detail = f"{progress.approvals} of {rule.count} {noun}"
    if facts.status == Status.rejected:  # sent back by the security team: on hold
        return gate(GateState.pending, f"{detail} — on hold until the change is revised",
                    "revise the change as the security team asked")
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


def infrastructure_reasons(facts: ChangeFacts, policy: Policy) -> list[str]:
    """Why this is an infrastructure change ("Infrastructure Team: approves infrastructure
    changes"): the proposal's checkbox, a policy path its pull request changes, its category."""
    reasons = []
    if "infra" in facts.checkboxes:
        reasons.append("the infrastructure checkbox")
    for pattern in patterns_touched(policy.infrastructure.paths, facts.changed_files):
        reasons.append(f"changes `{pattern}`")
    if facts.category.value in policy.infrastructure.categories:
        reasons.append(f"{facts.category.value.replace('_', '-')} changes (policy)")
    return reasons


def infrastructure_gate(facts: ChangeFacts, policy: Policy, now: datetime) -> Gate:
    """The infrastructure team approves an infrastructure change (`groups.infrastructure`)."""
    key = "infrastructure"

    def gate(state: GateState, detail: str, how: str = "", blocks: bool = True) -> Gate:
        return Gate(key, GATE_LABELS[key], state, detail, how, blocks)

    group = policy.groups.infrastructure
    reasons = infrastructure_reasons(facts, policy)
    if not reasons:
        return gate(GateState.not_required, "not an infrastructure change")
    why = ", ".join(reasons)
    if group is None:
        return gate(GateState.not_required, f"{why} — no infrastructure team set by policy")
    approver = next((v.user for v in facts.approvals
                     if v.is_infrastructure and v.user != facts.author), None)
    if approver:
        return gate(GateState.met, f"approved by <@{approver}> ({why})")
    how = f"an approval from <!subteam^{group}>"
    if facts.category == Category.emergency:
        return gate(GateState.pending, f"{why} — may come after deployment", how, False)
    return gate(GateState.pending, f"waiting for the infrastructure team ({why})", how)


def code_owners_gate(facts: ChangeFacts, policy: Policy, now: datetime) -> Gate:
    """The repository's CODEOWNERS (`github.use_codeowners`): one approval from an owner of
    each changed file that has owners; a CODEOWNERS that cannot be read keeps it closed."""
    key = "code_owners"

    def gate(state: GateState, detail: str, how: str = "", blocks: bool = True) -> Gate:
        return Gate(key, GATE_LABELS[key], state, detail, how, blocks)

    owners = facts.code_owners
    if not policy.github.use_codeowners:
        return gate(GateState.not_required, "not used by policy")
    if not facts.pr_linked:
        return gate(GateState.not_required, "no pull request linked")
    if owners is None:
        return gate(GateState.pending, "CODEOWNERS not read yet",
                    "wait for GitHub to answer, or Refresh from GitHub")
    if owners.problems:
        problems = "; ".join(owners.problems)
        if owners.retry:
            return gate(GateState.unknown, f"{problems} — retrying automatically",
                        "retry once GitHub answers")
        return gate(GateState.failed, problems, "fix CODEOWNERS on the pull request's base "
                    "branch, then Refresh from GitHub")
    if owners.source is None or not owners.groups:
        return gate(GateState.not_required, "the repository has no CODEOWNERS" if
                    owners.source is None else "no changed file has a code owner")
    voters = [v.user for v in facts.approvals if not facts.is_author(v.user)]
    voters += [f"gh:{login}" for login in facts.github_approvals]
    given, missing = [], []
    for group in owners.groups:
        who = approved_by(group, voters)
        if who is None:
            missing.append(f"{owners_text(group)} for {why_owned(group)}")
        else:
            shown = f"`{who[3:]}`" if who.startswith("gh:") else f"<@{who}>"
            given.append(f"{shown} for `{group.pattern}`")
    if not missing:
        return gate(GateState.met, "approved by " + "; ".join(given))
    detail = "needs an approval from " + "; ".join(missing)
    if owners.notes:
        detail += " (" + "; ".join(owners.notes) + ")"
    how = "an approval from a code owner of each path, on the card or on GitHub"
    if facts.category == Category.emergency:
        return gate(GateState.pending, f"{detail} — may come after deployment", how, False)
    return gate(GateState.pending, detail, how)


def owner_awaited(facts: ChangeFacts, policy: Policy, user: str) -> bool:
    """`user` is a code owner whose approval the change still waits for."""
    owners = facts.code_owners
    if code_owners_gate(facts, policy, datetime.min).state != GateState.pending or not owners:
        return False
    voters = [v.user for v in facts.approvals] + [f"gh:{x}" for x in facts.github_approvals]
    return any(user in g.approvers and approved_by(g, voters) is None for g in owners.groups)


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


def freeze_gate(facts: ChangeFacts, policy: Policy, now: datetime) -> Gate:
    """Step 6 too: no deployment inside a freeze window (the policy's, or one declared in
    Slack), unless it is an emergency — whose deployment then records the bypass."""
    hours = policy.business_hours

    def gate(state: GateState, detail: str, how: str = "") -> Gate:
        return Gate("freeze", GATE_LABELS["freeze"], state, detail, how)

    holding = freeze_at(policy, facts.freezes, now)
    if holding is None:
        coming = next_freeze(policy, facts.freezes, now)
        soon = (f" (next: {coming.said} from {format_moment(hours, coming.starts_at)})"
                if coming else "")
        return gate(GateState.met, "no freeze in effect" + soon)
    until = format_moment(hours, thaw_at(policy, facts.freezes, now))
    if facts.category == Category.emergency:
        return gate(GateState.bypassed, f"inside the freeze {holding.said} until {until} — "
                    "an emergency may deploy, the bypass is recorded")
    return gate(GateState.failed, f"inside the freeze {holding.said}", f"deploy after {until}")


# The gates in the order of the process. A new gate is one more function in this list.
GATES: list[GateCheck] = [
    ci_gate,
    approvals_gate,
    infrastructure_gate,
    code_owners_gate,
    security_review_gate,
    staging_gate,
    business_hours_gate,
    freeze_gate,
]


OPEN_GATE_STATES = frozenset({GateState.met, GateState.not_required, GateState.bypassed})


def gates(facts: ChangeFacts, policy: Policy, now: datetime) -> list[Gate]:
    """Every gate before production, evaluated at `now`, in the order of the process."""
    return [check(facts, policy, now) for check in GATES
            # A team that does not use CODEOWNERS is not shown a gate it never has.
            if check is not code_owners_gate or policy.github.use_codeowners]


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
