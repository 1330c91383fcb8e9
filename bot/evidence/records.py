"""What the evidence pack says of one change: its records, one per section, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.deployment.rules import DEPLOY_EXCEPTION_LABELS

BROKEN = "broken"
BYPASSED = "bypassed"

# The rules an exception names: the gates before production and "not ready for production"
# (their keys are bot.lifecycle's, as recorded), and the rules checked only here.
RULE_LABELS: dict[str, str] = {
    "segregation_of_duties": "Segregation of duties",
    **DEPLOY_EXCEPTION_LABELS,
    "manual_deployment": "Manual deployment",
    "verification": "Verification",
    "retrospective": "Retrospective",
    "rollback": "Rollback",
}
# A recorded exception whose rule is not known (free text).
RECORDED = "recorded"




@dataclass(frozen=True)
class RuleException:
    """One rule of the process that a change broke, or bypassed (emergency, override)."""

    rule: str
    kind: str  # broken | bypassed
    detail: str

    @property
    def label(self) -> str:
        return RULE_LABELS.get(self.rule, self.rule.replace("_", " ").capitalize())


@dataclass(frozen=True)
class ApprovalEvidence:
    id: int
    kind: str  # peer | security
    # peer: approved | rejected, and from GitHub changes_requested | dismissed;
    # security: approved | changes_requested | overridden
    decision: str
    who: str
    at: datetime
    source: str  # slack | github
    github_login: str | None
    commit_sha: str | None
    tech_lead: bool
    revision: int
    reason: str
    before_deployment: bool | None  # None: the change was never deployed
    counted: bool  # counts towards the approvals of the deployed (current) revision


@dataclass(frozen=True)
class NamedApproval:
    """An approval the process asks of named people besides the peers' (the infrastructure
    team, code owners), as its gate stands: `met` or not, with the gate's words."""

    rule: str  # the gate's key: infrastructure | code_owners
    met: bool
    detail: str


@dataclass(frozen=True)
class Segregation:
    """Nobody approved their own change; enough distinct approvers; tech leads if needed."""

    author_never_approved: bool
    refused_self_approvals: tuple[datetime, ...]
    approvers: tuple[str, ...]  # distinct people whose approval counts
    required: int
    tech_leads_required: int
    tech_lead_approvers: tuple[str, ...]
    met: bool  # the approvals are met now
    met_before_deployment: bool | None  # None: never deployed
    deployed: bool
    emergency: bool
    # The approvals required, in the process's words ("2 peer approvals and a tech lead"),
    # and the named approvals it also asked for.
    requirement: str = ""
    named: tuple[NamedApproval, ...] = ()

    @property
    def result(self) -> str:
        if not self.author_never_approved:
            return "fail"
        if not self.deployed:
            return "not deployed"
        on_time = self.met if self.emergency else self.met_before_deployment
        return "pass" if on_time else "fail"


@dataclass(frozen=True)
class Check:
    name: str
    state: str
    url: str | None


@dataclass(frozen=True)
class CiEvidence:
    required: bool
    pr_url: str | None
    pr_repo: str | None
    pr_number: int | None
    state: str  # none | success | failure | pending | unknown
    head_sha: str | None
    merge_sha: str | None
    checks: tuple[Check, ...]
    failing: tuple[str, ...]  # the names of the checks that failed the gate
    checked_at: datetime | None
    github_error: str | None
    pull_request: dict[str, Any]  # as last read from GitHub
    recorded: dict[str, Any]
    # Once deployed, the fields above describe the commit that went out, as it stood then;
    # these, the pull request's head now when it moved on since.
    head_now: str | None = None
    state_now: str | None = None


@dataclass(frozen=True)
class Checkpoint:
    """The audit chain's head as posted to Slack (bot.evidence.witness)."""

    head: str
    events: int
    at: datetime
    channel: str | None = None
    ts: str | None = None


@dataclass(frozen=True)
class CommitEvidence:
    """A commit of the pull request (each head it was pushed at, the deployed one last),
    with the reviews and approvals given on it."""

    sha: str
    deployed: bool
    reviews: tuple[str, ...]  # "<who> <decision> <when>"


@dataclass(frozen=True)
class SecurityEvidence:
    required: bool
    triggers: tuple[dict[str, Any], ...]
    decisions: tuple[ApprovalEvidence, ...]
    approved_by: str | None
    approved_at: datetime | None
    overridden_by: str | None
    override_reason: str
    before_deployment: bool | None


@dataclass(frozen=True)
class StagingEvidence:
    deployed_at: datetime | None
    verified_at: datetime | None
    by: str | None
    checks: tuple[str, ...]
    notes: str
    recorded: dict[str, Any]


@dataclass(frozen=True)
class GitHubDeployment:
    id: int
    repo: str
    environment: str
    sha: str
    creator: str | None
    at: datetime


@dataclass(frozen=True)
class DeploymentEvidence:
    at: datetime
    by: str | None
    method: str | None
    inside_business_hours: bool
    emergency: bool
    github: tuple[GitHubDeployment, ...]
    recorded_exceptions: tuple[str, ...]


@dataclass(frozen=True)
class VerificationEvidence:
    window_ends_at: datetime | None
    verified_at: datetime | None
    by: str | None
    checks: tuple[str, ...]
    notes: str
    within_window: bool | None  # by the window's end plus the policy's grace; None: not yet
    recorded: dict[str, Any]
    watched_by: str | None = None  # who was told they were on watch (bot.deployment.watch)


@dataclass(frozen=True)
class RollbackEvidence:
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: int | None
    trigger: str
    method: str
    notes: str
    by: str | None
    recorded: dict[str, Any]


@dataclass(frozen=True)
class EmergencyEvidence:
    impact: str
    involved: tuple[str, ...]
    approved_at: datetime | None  # when its approvals were first met
    approved_after_deployment: bool | None
    retrospective_due_at: datetime | None
    retrospective_done_at: datetime | None
    retrospective_link: str | None
    retrospective: str  # on time | late | overdue | not due yet | not deployed
    broadcast: dict[str, Any]  # where the emergency was announced
    recorded: dict[str, Any]


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class ChangeRecord:
    id: int
    ref: str
    title: str
    status: str
    category: str
    risk: str
    author: str
    created_at: datetime
    closed_at: datetime | None
    revision: int
    proposal: dict[str, Any]
    approvals: tuple[ApprovalEvidence, ...]
    segregation: Segregation
    ci: CiEvidence
    security: SecurityEvidence
    staging: StagingEvidence
    deployment: DeploymentEvidence | None
    verification: VerificationEvidence | None
    rollback: RollbackEvidence | None
    emergency: EmergencyEvidence | None
    exceptions: tuple[RuleException, ...]
    timeline: tuple[TimelineEntry, ...]
    commits: tuple[CommitEvidence, ...] = ()

    @property
    def people(self) -> set[str]:
        """Everyone the record names (for a who's-who appendix)."""
        named = {self.author, *(a.who for a in self.approvals), *self.proposal["reviewers"]}
        for who in (self.deployment and self.deployment.by,
                    self.verification and self.verification.by,
                    self.rollback and self.rollback.by, self.staging.by):
            if who:
                named.add(who)
        named.update(entry.actor for entry in self.timeline)
        return named


