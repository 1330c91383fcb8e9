"""The evidence an auditor asks of each production change, as records (no I/O here).

    rows of one change (storage.evidence_store.ChangeRows)
      -> `record_of` -> ChangeRecord: proposal, approvals, segregation of duties, CI,
         security review, staging, deployment, verification, rollback, emergency, and
         every exception to the process (a rule broken, or bypassed under the emergency
         process or an override)
      -> renderers (bot.evidence_render) -> a file, streamed (bot.evidence_export)

Which changes belong to a period: those whose production deployment falls in it, and
those never deployed whose closure (cancelled, …) falls in it. Each change so belongs to
exactly one period, and consecutive packs neither miss nor repeat a change.

The steps record into the Change columns read here, in these formats (their JSON columns
are also carried whole into the JSON pack, so nothing recorded is lost):
- staging_validation (bot.deployments): {"checks": [keys of lifecycle.STAGING_CHECKS],
  "notes", "by"}; verification likewise with lifecycle.PRODUCTION_CHECKS
- rollback (bot.deployments): {"trigger", "method", "notes", "by", "from_status"}
- ci_detail (bot.pull_requests.apply_ci): {"sha", "checks": [{"name", "state", "url"}],
  "failing": [{"name", "url"}], "pending": [...]}, or {"problem"} when GitHub can't be read
- deploy_exceptions (bot.github_deployments): `"<key>: <why>"` entries of
  lifecycle.deploy_exception, the key a gate key or lifecycle.NOT_READY; likewise the
  `gates` ({key: state}) of the DEPLOYED_TO_PRODUCTION audit event recorded in Slack, and
  the GATE_BYPASSED audit events ({gate, reason}) of an emergency's deployment
  (bot.emergencies)
- emergencies (bot.emergencies): retrospective_due_at, retrospective_done_at, and
  retrospective {"document" (a link; "link"/"url" are read too), "root_cause",
  "follow_ups", "by", "overdue", and "overdue_since" once escalated}
Approvals are Approval rows (peer: Slack or GitHub reviews, security: the security team's
decisions and overrides); an emergency's approval after its deployment is told by their
times against deployed_at (its `approval_given`/`approved` audit events say the same, with
`after_deployment`). GitHub production deployments are Deployment rows.
Recorded gates and the rules checked here are merged by rule, so each is listed once; the
gates an emergency may complete after deployment (lifecycle.AFTER_DEPLOYMENT_GATES) are
judged by their rule here only, by the policy's `windows.emergency_approval`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.change.audit_actions import (
    DEPLOYED_TO_PRODUCTION,
    GATE_BYPASSED,
    ROLLBACK_STARTED,
    SELF_APPROVAL_REFUSED,
    STAGING_VERIFIED,
    VERIFIED_IN_PRODUCTION,
)
from bot.change.gates import AFTER_DEPLOYMENT_GATES, GATE_LABELS, OPEN_GATE_STATES
from bot.change.rows import facts_of
from bot.change.states import Category, Status, format_change_id
from bot.deployment.business_hours import is_business_time
from bot.deployment.rules import DEPLOY_EXCEPTION_LABELS, monitoring_window, parse_deploy_exception
from bot.review.rules import approval_progress, approval_rule, counted_approvers
from bot.runtime.durations import spell
from bot.settings import Policy
from storage.evidence_store import ChangeRows
from storage.models import Approval, AuditEvent, Change, Deployment

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
}
# A recorded exception whose rule is not known (free text).
RECORDED = "recorded"


# --------------------------------------------------------------------------------------
# The period
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days in the team's time zone, both included; `start`/`end` are UTC bounds
    (`end` excluded)."""

    first_day: date
    last_day: date
    zone: str
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.first_day.isoformat()} to {self.last_day.isoformat()}"


def parse_period(first: str, last: str, zone: ZoneInfo | str = "UTC") -> Period:
    """`2026-01-01`, `2026-03-31` -> the period; ValueError saying what to write."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    days = []
    for text in (first, last):
        try:
            days.append(date.fromisoformat(text.strip()))
        except ValueError:
            raise ValueError(
                f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-03-31"
            ) from None
    if days[1] < days[0]:
        raise ValueError(
            f"the period ends ({days[1]}) before it starts ({days[0]}): give the first "
            "day, then the last"
        )
    start = datetime.combine(days[0], time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(days[1] + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return Period(days[0], days[1], zone.key, start, end)


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# From rows to a record
# --------------------------------------------------------------------------------------


def record_of(rows: ChangeRows, policy: Policy, now: datetime) -> ChangeRecord:
    change, approvals, events = rows.change, rows.approvals, rows.events
    deployed_at = change.deployed_at
    category = Category(change.category)
    emergency = category == Category.emergency
    counted = set(counted_approvers(facts_of(change, approvals), policy))
    kinds = {"peer", "security"} if policy.review.security_counts_as_peer else {"peer"}
    approval_rows = tuple(_approval(a, change, counted, kinds) for a in approvals)
    segregation = _segregation(change, approvals, events, policy)
    record = ChangeRecord(
        id=change.id or 0,
        ref=format_change_id(change.id or 0),
        title=change.title,
        status=change.status,
        category=change.category,
        risk=change.risk,
        author=change.author_id,
        created_at=change.created_at,
        closed_at=change.closed_at,
        revision=change.revision,
        proposal=_proposal(change),
        approvals=approval_rows,
        segregation=segregation,
        ci=_ci(change, policy),
        security=_security(change, approval_rows),
        staging=_staging(change, events),
        deployment=(_deployment(change, rows.deployments, events, policy) if deployed_at
                    else None),
        verification=_verification(change, events, policy) if deployed_at else None,
        rollback=_rollback(change, events),
        emergency=_emergency(change, approvals, policy, now) if emergency else None,
        exceptions=(),
        timeline=tuple(
            TimelineEntry(e.id or 0, e.at, e.actor, e.action, dict(e.detail), e.hash)
            for e in events
        ),
    )
    return _with_exceptions(record, _recorded_exceptions(change, events), policy, now)


def _proposal(change: Change) -> dict[str, Any]:
    return {
        "title": change.title,
        "description": change.description,
        "category": change.category,
        "risk": change.risk,
        "rollback_plan": change.rollback_plan,
        "testing": change.testing,
        "security_notes": change.security_notes,
        "security_checkboxes": list(change.security_checkboxes),
        "pr_url": change.pr_url,
        "reviewers": list(change.reviewers),
        "planned_at": change.planned_at,
        "impact": change.impact,
        "involved": list(change.involved),
    }


def _who(approval: Approval) -> str:
    return approval.user_id or approval.actor


def _before(moment: datetime, deployed_at: datetime | None) -> bool | None:
    return None if deployed_at is None else moment <= deployed_at


def _approval(approval: Approval, change: Change, counted_users: set[str],
              counted_kinds: set[str]) -> ApprovalEvidence:
    counted = (
        approval.kind in counted_kinds and approval.decision == "approved"
        and approval.revision == change.revision and _who(approval) in counted_users
    )
    return ApprovalEvidence(
        id=approval.id or 0, kind=approval.kind, decision=approval.decision,
        who=_who(approval), at=approval.created_at, source=approval.source,
        github_login=approval.github_login, commit_sha=approval.commit_sha,
        tech_lead=approval.tech_lead, revision=approval.revision, reason=approval.reason,
        before_deployment=_before(approval.created_at, change.deployed_at), counted=counted,
    )


def _until(approvals: Sequence[Approval], moment: datetime) -> list[Approval]:
    return [a for a in approvals if a.created_at <= moment]


def _segregation(change: Change, approvals: Sequence[Approval], events: Sequence[AuditEvent],
                 policy: Policy) -> Segregation:
    facts = facts_of(change, approvals)
    approvers = counted_approvers(facts, policy)
    rule = approval_rule(policy, facts.category, facts.risk)
    before = None
    if change.deployed_at is not None:
        before = approval_progress(
            facts_of(change, _until(approvals, change.deployed_at)), policy
        ).met
    own = [a for a in approvals if a.decision == "approved" and _who(a) == change.author_id]
    return Segregation(
        author_never_approved=not own,
        refused_self_approvals=tuple(e.at for e in events if e.action == SELF_APPROVAL_REFUSED),
        approvers=tuple(approvers),
        required=rule.count,
        tech_leads_required=rule.tech_leads,
        tech_lead_approvers=tuple(user for user, lead in approvers.items() if lead),
        met=approval_progress(facts, policy).met,
        met_before_deployment=before,
        deployed=change.deployed_at is not None,
        emergency=facts.category == Category.emergency,
    )


def _named(items: Any) -> list[dict[str, Any]]:
    return [i for i in items if isinstance(i, dict) and i.get("name")] if isinstance(
        items, list) else []


def _checks(detail: dict[str, Any]) -> tuple[Check, ...]:
    """Every check of the commit, as recorded; a row recorded before the list of all checks
    was kept names only the failing and the running ones."""
    if isinstance(detail.get("checks"), list):
        return tuple(Check(str(c["name"]), str(c.get("state") or ""), c.get("url"))
                     for c in _named(detail["checks"]))
    return tuple(Check(str(c["name"]), state, c.get("url"))
                 for key, state in (("failing", "failure"), ("pending", "pending"))
                 for c in _named(detail.get(key)))


def _ci(change: Change, policy: Policy) -> CiEvidence:
    return CiEvidence(
        required=bool(change.pr_url) and policy.github.require_ci,
        pr_url=change.pr_url, pr_repo=change.pr_repo, pr_number=change.pr_number,
        state=change.ci_state, head_sha=change.head_sha, merge_sha=change.merge_sha,
        checks=_checks(change.ci_detail),
        failing=tuple(str(c["name"]) for c in _named(change.ci_detail.get("failing"))),
        checked_at=change.github_checked_at,
        github_error=change.github_error, pull_request=dict(change.pr_info),
        recorded=dict(change.ci_detail),
    )


def _security(change: Change, approvals: Sequence[ApprovalEvidence]) -> SecurityEvidence:
    decisions = tuple(a for a in approvals if a.kind == "security")
    current = [a for a in decisions if a.revision == change.revision]
    approved = [a for a in current if a.decision == "approved"]
    overridden = [a for a in current if a.decision == "overridden"]
    approved_at = approved[-1].at if approved else None
    return SecurityEvidence(
        required=change.security_required,
        triggers=tuple(dict(t) for t in change.security_triggers),
        decisions=decisions,
        approved_by=approved[-1].who if approved else None,
        approved_at=approved_at,
        overridden_by=overridden[-1].who if overridden else None,
        override_reason=overridden[-1].reason if overridden else "",
        before_deployment=_before(approved_at, change.deployed_at) if approved_at else None,
    )


def _ticked(recorded: dict[str, Any]) -> tuple[str, ...]:
    listed = recorded.get("checks")
    return tuple(str(c) for c in listed) if isinstance(listed, list) else ()


def _actor(events: Sequence[AuditEvent], *actions: str) -> str | None:
    found = [e.actor for e in events if e.action in actions]
    return found[-1] if found else None


def _staging(change: Change, events: Sequence[AuditEvent]) -> StagingEvidence:
    recorded = dict(change.staging_validation)
    return StagingEvidence(
        deployed_at=change.staging_deployed_at,
        verified_at=change.staging_verified_at,
        by=recorded.get("by") or _actor(events, STAGING_VERIFIED),
        checks=_ticked(recorded),
        notes=str(recorded.get("notes") or ""),
        recorded=recorded,
    )


def _recorded_exceptions(change: Change, events: Sequence[AuditEvent]) -> tuple[str, ...]:
    """What skipped the process when it went to production, as the deployment recorded it
    (`"<key>: <why>"`), once per gate in the order of the process: the gates an emergency
    skipped (GATE_BYPASSED events, in their words) or found closed in the
    DEPLOYED_TO_PRODUCTION event recorded in Slack; then `deploy_exceptions` (a deployment
    reported by GitHub)."""
    whys: dict[str, str] = {}
    deployed = [e for e in events if e.action == DEPLOYED_TO_PRODUCTION]
    gate_states = deployed[-1].detail.get("gates") if deployed else None
    if isinstance(gate_states, dict):
        whys.update({str(gate): f"the gate was {state} when it was deployed"
                     for gate, state in gate_states.items() if state not in OPEN_GATE_STATES})
    whys.update({str(e.detail["gate"]): str(e.detail.get("reason") or "")
                 for e in events if e.action == GATE_BYPASSED and e.detail.get("gate")})
    order = {key: index for index, key in enumerate(GATE_LABELS)}
    entries = [f"{gate}: {why}" if why else gate
               for gate, why in sorted(whys.items(), key=lambda gw: order.get(gw[0], len(order)))]
    entries += [str(entry) for entry in change.deploy_exceptions]
    return tuple(entries)


def github_deployment(deployment: Deployment) -> GitHubDeployment:
    d = deployment
    return GitHubDeployment(d.github_deployment_id, d.repo, d.environment, d.sha, d.creator,
                            d.at)


def _deployment(change: Change, deployments: Sequence[Deployment], events: Sequence[AuditEvent],
                policy: Policy) -> DeploymentEvidence:
    assert change.deployed_at is not None
    return DeploymentEvidence(
        at=change.deployed_at,
        by=change.deployed_by,
        method=change.deploy_method,
        inside_business_hours=is_business_time(policy.business_hours, change.deployed_at),
        emergency=change.category == Category.emergency,
        github=tuple(github_deployment(d) for d in deployments),
        recorded_exceptions=_recorded_exceptions(change, events),
    )


def window_end(change: Change, policy: Policy) -> datetime | None:
    if change.monitoring_ends_at is not None:
        return change.monitoring_ends_at
    if change.deployed_at is None:
        return None
    return change.deployed_at + monitoring_window(policy, Category(change.category))


def _verification(change: Change, events: Sequence[AuditEvent],
                  policy: Policy) -> VerificationEvidence:
    recorded = dict(change.verification)
    ends = window_end(change, policy)
    within = None
    if change.verified_at is not None and ends is not None:
        within = change.verified_at <= ends + policy.windows.verification_grace
    return VerificationEvidence(
        window_ends_at=ends,
        verified_at=change.verified_at,
        by=recorded.get("by") or _actor(events, VERIFIED_IN_PRODUCTION),
        checks=_ticked(recorded),
        notes=str(recorded.get("notes") or ""),
        within_window=within,
        recorded=recorded,
    )


def _rollback(change: Change, events: Sequence[AuditEvent]) -> RollbackEvidence | None:
    recorded = dict(change.rollback)
    if change.rollback_started_at is None and not recorded:
        return None
    started, finished = change.rollback_started_at, change.rollback_finished_at
    duration = None
    if started is not None and finished is not None:
        duration = int((finished - started).total_seconds())
    return RollbackEvidence(
        started_at=started, finished_at=finished, duration_seconds=duration,
        trigger=str(recorded.get("trigger") or ""), method=str(recorded.get("method") or ""),
        notes=str(recorded.get("notes") or ""),
        by=recorded.get("by") or _actor(events, ROLLBACK_STARTED),
        recorded=recorded,
    )


def _approved_at(change: Change, approvals: Sequence[Approval], policy: Policy
                 ) -> datetime | None:
    """When the approvals were first met (the approval that completed them)."""
    ordered = sorted(approvals, key=lambda a: a.created_at)
    for index, approval in enumerate(ordered):
        if approval_progress(facts_of(change, ordered[: index + 1]), policy).met:
            return approval.created_at
    return None


def _emergency(change: Change, approvals: Sequence[Approval], policy: Policy,
               now: datetime) -> EmergencyEvidence:
    recorded = dict(change.retrospective)
    approved_at = _approved_at(change, approvals, policy)
    due, done = change.retrospective_due_at, change.retrospective_done_at
    if due is None and change.deployed_at is not None:
        due = change.deployed_at + policy.windows.retrospective
    if change.deployed_at is None:
        state = "not deployed"
    elif done is not None:
        state = "on time" if due is None or done <= due else "late"
    else:
        state = "overdue" if due is not None and now > due else "not due yet"
    return EmergencyEvidence(
        impact=change.impact,
        involved=tuple(change.involved),
        approved_at=approved_at,
        approved_after_deployment=(
            None if approved_at is None or change.deployed_at is None
            else approved_at > change.deployed_at
        ),
        retrospective_due_at=due,
        retrospective_done_at=done,
        retrospective_link=recorded.get("link") or recorded.get("url")
        or recorded.get("document"),
        retrospective=state,
        broadcast={"channel": change.broadcast_channel, "ts": change.broadcast_ts},
        recorded=recorded,
    )


# --------------------------------------------------------------------------------------
# Exceptions: every rule broken or bypassed
# --------------------------------------------------------------------------------------


def _spell(delta: timedelta) -> str:
    return spell(delta, smallest="min")


def _with_exceptions(record: ChangeRecord, recorded: Sequence[str], policy: Policy,
                     now: datetime) -> ChangeRecord:
    found: list[RuleException] = []
    sod = record.segregation
    if not sod.author_never_approved:
        found.append(RuleException("segregation_of_duties", BROKEN,
                                   f"an approval by the author ({record.author}) was recorded"))
    if record.deployment is not None:
        found += _deployment_exceptions(record, policy, now)
    # A change that is not deployed may hold recorded exceptions too: GitHub deployed it
    # after it was cancelled (it stays cancelled).
    emergency = record.deployment is not None and record.deployment.emergency
    # An emergency's approvals and security review may come after it: recorded pending at
    # deployment, they are judged by their rule above (the policy's delay), not the record.
    found = _merge_recorded(found, recorded, BYPASSED if emergency else BROKEN,
                            skip=AFTER_DEPLOYMENT_GATES if emergency else frozenset())
    return replace(record, exceptions=tuple(found))


_CI_STATES = {"failure": "failing", "pending": "still running", "none": "not reported",
              "unknown": "unknown"}


def _deployment_exceptions(record: ChangeRecord, policy: Policy,
                           now: datetime) -> list[RuleException]:
    deployment, sod = record.deployment, record.segregation
    assert deployment is not None
    emergency = deployment.emergency
    found: list[RuleException] = []

    def add(rule: str, kind: str, detail: str) -> None:
        found.append(RuleException(rule, kind, detail))

    # Approvals (Step 3): before production, except emergencies (approval may come after;
    # missing once the policy's delay after deployment is over, it is a broken rule).
    wanted = f"{sod.required} approval{'s' if sod.required != 1 else ''}"
    if sod.tech_leads_required:
        wanted += f" including {sod.tech_leads_required} tech lead"
    approval_due = deployment.at + policy.windows.emergency_approval
    if not sod.met_before_deployment:
        if emergency and sod.met:
            add("approvals", BYPASSED,
                f"approved after deployment under the emergency process ({wanted})")
        elif emergency and now > approval_due:
            add("approvals", BROKEN, "emergency change still not approved "
                f"{_spell(now - deployment.at)} after deployment ({wanted} needed)")
        elif not emergency:
            add("approvals", BROKEN, f"deployed without {wanted}")

    # Step 2: CI, when a pull request is linked.
    ci = record.ci
    if ci.required and ci.state != "success":
        why = _CI_STATES.get(ci.state, ci.state)
        if ci.failing:
            why += f" ({', '.join(ci.failing)})"
        elif ci.state == "unknown":  # why GitHub could not say, as bot.github_sync recorded
            why += f" ({ci.recorded.get('problem') or 'GitHub unreachable'})"
        what = f"deployed with CI {why} at {ci.head_sha or 'an unknown commit'}"
        if emergency and not policy.emergency.require_ci:  # the team lets an outage fix out
            add("ci", BYPASSED, f"{what} under the emergency process")
        else:
            add("ci", BROKEN, what)

    # Step 4: security review when triggered.
    security = record.security
    if security.required:
        if security.overridden_by:
            reason = f": {security.override_reason}" if security.override_reason else ""
            add("security_review", BYPASSED, f"overridden by {security.overridden_by}{reason}")
        elif security.before_deployment:
            pass
        elif emergency and security.approved_by:
            add("security_review", BYPASSED,
                "security review approved after deployment under the emergency process")
        elif emergency and now > approval_due:
            add("security_review", BROKEN,
                "emergency change's security review still not approved")
        elif not emergency:  # an emergency's may still come, within the policy's delay
            add("security_review", BROKEN, "deployed without an approved security review")

    # Step 5: staging.
    staging_ok = (record.staging.verified_at is not None
                  and record.staging.verified_at <= deployment.at)
    if emergency:
        if not staging_ok:
            add("staging", BYPASSED, "no staging validation under the emergency process")
    elif not staging_ok:
        add("staging", BROKEN, "deployed without validation in staging")

    # Step 6: business hours, and manual deployment of high-risk changes.
    if not deployment.inside_business_hours:
        if emergency:
            add("business_hours", BYPASSED,
                "deployed outside business hours under the emergency process")
        else:
            add("business_hours", BROKEN, "deployed outside business hours")
    if record.category == Category.high_risk and deployment.method == "automated":
        add("manual_deployment", BROKEN, "high-risk change deployed automatically")

    # Step 7: verification once the monitoring window is over.
    verification = record.verification
    if verification is not None and record.status != Status.rolled_back:
        ends = verification.window_ends_at
        if verification.verified_at is None:
            if record.status == Status.completed:
                add("verification", BROKEN, "completed without a verification")
            elif ends is not None and now > ends + policy.windows.verification_grace:
                add("verification", BROKEN,
                    f"not verified; the monitoring window ended {_iso(ends)}")
        elif verification.within_window is False and ends is not None:
            late = verification.verified_at - ends
            add("verification", BROKEN, f"verified {_spell(late)} after the monitoring "
                "window ended (beyond the grace of "
                f"{_spell(policy.windows.verification_grace)})")

    # Emergencies: the retrospective within the policy's delay.
    emergency_record = record.emergency
    if emergency_record is not None and emergency_record.retrospective in ("late", "overdue"):
        due = emergency_record.retrospective_due_at
        assert due is not None
        if emergency_record.retrospective_done_at is not None:
            late = emergency_record.retrospective_done_at - due
            add("retrospective", BROKEN, f"retrospective done {_spell(late)} late")
        else:
            add("retrospective", BROKEN, f"retrospective overdue since {_iso(due)}")
    return found


def _merge_recorded(found: list[RuleException], recorded: Sequence[str], kind: str,
                    skip: frozenset[str]) -> list[RuleException]:
    """Add what the deployment recorded as skipped, once per rule: a rule found here already
    keeps its detail (the record only confirms it, and stays in the deployment's evidence);
    a rule found only in the record is listed with the recorded why."""
    rules = {e.rule for e in found} | skip
    for entry in recorded:
        rule, why = parse_deploy_exception(entry)
        if rule is None:
            found.append(RuleException(RECORDED, kind, why))
        elif rule not in rules:
            rules.add(rule)
            found.append(RuleException(rule, kind, why or "gate closed at deployment"))
    return found


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --------------------------------------------------------------------------------------
# The summary at the top of the pack
# --------------------------------------------------------------------------------------


@dataclass
class Summary:
    """Counted as the records stream past (nothing but counters is kept)."""

    changes: int = 0
    deployed: int = 0
    rolled_back: int = 0
    not_deployed: int = 0
    emergencies: int = 0
    exceptions: int = 0
    broken: int = 0
    bypassed: int = 0
    sod_failures: int = 0
    changes_with_exceptions: int = 0
    unmatched_deployments: int = 0
    by_category: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    by_rule: Counter = field(default_factory=Counter)

    def add(self, record: ChangeRecord) -> None:
        self.changes += 1
        self.by_category[record.category] += 1
        self.by_status[record.status] += 1
        if record.deployment is not None:
            self.deployed += 1
        else:
            self.not_deployed += 1
        if record.rollback is not None:
            self.rolled_back += 1
        if record.category == Category.emergency:
            self.emergencies += 1
        if record.segregation.result == "fail":
            self.sod_failures += 1
        if record.exceptions:
            self.changes_with_exceptions += 1
        for exception in record.exceptions:
            self.exceptions += 1
            self.by_rule[exception.rule] += 1
            if exception.kind == BYPASSED:
                self.bypassed += 1
            else:
                self.broken += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "changes": self.changes, "deployed": self.deployed,
            "rolled_back": self.rolled_back, "not_deployed": self.not_deployed,
            "emergencies": self.emergencies, "exceptions": self.exceptions,
            "broken": self.broken, "bypassed": self.bypassed,
            "changes_with_exceptions": self.changes_with_exceptions,
            "segregation_of_duties_failures": self.sod_failures,
            "unmatched_deployments": self.unmatched_deployments,
            "by_category": dict(self.by_category), "by_status": dict(self.by_status),
            "exceptions_by_rule": dict(self.by_rule),
        }


@dataclass(frozen=True)
class PackInfo:
    """What names the pack: the period, when it was made, and the audit log it came from."""

    period: Period
    generated_at: datetime
    audit_head: str
    audit_events: int
    policy: Policy
