"""The evidence an auditor asks of each production change, as records (no I/O here).

    rows of one change (storage.evidence_store.ChangeRows)
      -> `record_of` -> ChangeRecord (bot.evidence.records): proposal, approvals,
         segregation of duties, CI, security review, staging, deployment, verification,
         rollback, emergency, and every exception to the process (bot.evidence.exceptions:
         a rule broken, or bypassed under the emergency process or an override)
      -> renderers (bot.evidence.render_markdown, _csv, _json) -> a file, streamed
         (bot.evidence.export), under a summary (bot.evidence.summary)

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

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.change.audit_actions import (
    DEPLOYED_TO_PRODUCTION,
    GATE_BYPASSED,
    ROLLBACK_STARTED,
    SELF_APPROVAL_REFUSED,
    STAGING_VERIFIED,
    VERIFIED_IN_PRODUCTION,
)
from bot.change.gates import GATE_LABELS, OPEN_GATE_STATES
from bot.change.rows import facts_of
from bot.change.states import Category, Risk, format_change_id
from bot.deployment.business_hours import is_business_time
from bot.deployment.rules import monitoring_window
from bot.evidence.exceptions import with_exceptions
from bot.evidence.named import named_approvals
from bot.evidence.records import (
    ApprovalEvidence,
    ChangeRecord,
    Check,
    CiEvidence,
    CommitEvidence,
    DeploymentEvidence,
    EmergencyEvidence,
    GitHubDeployment,
    RollbackEvidence,
    SecurityEvidence,
    Segregation,
    StagingEvidence,
    TimelineEntry,
    VerificationEvidence,
)
from bot.policy import Policy
from bot.review.rules import approval_progress, approval_rule, approvals_wanted, counted_approvers
from storage.evidence_store import ChangeRows
from storage.models import Approval, AuditEvent, Change, Deployment

# --------------------------------------------------------------------------------------
# From rows to a record
# --------------------------------------------------------------------------------------


def record_of(rows: ChangeRows, policy: Policy, now: datetime) -> ChangeRecord:
    change, approvals, events = rows.change, rows.approvals, rows.events
    deployed_at = change.deployed_at
    category = Category(change.category)
    emergency = category == Category.emergency
    admissible = _admissible(change, approvals, policy)
    counted = set(counted_approvers(facts_of(change, admissible), policy))
    kinds = {"peer", "security"} if policy.review.security_counts_as_peer else {"peer"}
    approval_rows = tuple(_approval(a, change, counted, kinds, a in admissible)
                          for a in approvals)
    segregation = _segregation(change, approvals, admissible, events, policy, now)
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
        ci=_ci(change, policy, rows.deployed_row),
        security=_security(change, approval_rows),
        staging=_staging(change, events),
        deployment=(_deployment(change, rows.deployments, events, policy) if deployed_at
                    else None),
        verification=_verification(change, events, policy) if deployed_at else None,
        rollback=_rollback(change, events),
        emergency=_emergency(change, admissible, policy, now) if emergency else None,
        exceptions=(),
        timeline=tuple(
            TimelineEntry(e.id or 0, e.at, e.actor, e.action, dict(e.detail), e.hash)
            for e in events
        ),
        commits=_commits(change, approvals, rows.deployed_row),
    )
    return with_exceptions(record, _recorded_exceptions(change, events), policy, now)


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


def _admissible(change: Change, approvals: Sequence[Approval], policy: Policy
                ) -> list[Approval]:
    """The approvals that may count: none given after the change closed, but an emergency's
    that it still waited for (its approval may come after deployment)."""
    if change.closed_at is None:
        return list(approvals)
    kept: list[Approval] = []
    for approval in sorted(approvals, key=lambda a: (a.created_at, a.id or 0)):
        waiting = (change.category == Category.emergency
                   and not approval_progress(facts_of(change, kept), policy).met)
        if approval.created_at <= change.closed_at or waiting:
            kept.append(approval)
    return [a for a in approvals if a in kept]


def _approval(approval: Approval, change: Change, counted_users: set[str],
              counted_kinds: set[str], admissible: bool) -> ApprovalEvidence:
    counted = admissible and (
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


def _segregation(change: Change, approvals: Sequence[Approval],
                 admissible: Sequence[Approval], events: Sequence[AuditEvent],
                 policy: Policy, now: datetime) -> Segregation:
    facts = facts_of(change, admissible)
    approvers = counted_approvers(facts, policy)
    rule = approval_rule(policy, facts.category, facts.risk)
    before = None
    if change.deployed_at is not None:
        before = approval_progress(
            facts_of(change, _until(admissible, change.deployed_at)), policy
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
        requirement=approvals_wanted(rule, policy),
        named=named_approvals(facts, policy, now),
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


def _ci(change: Change, policy: Policy, deployed_row: dict[str, Any] | None) -> CiEvidence:
    """CI of the commit that went out, as it stood when it was deployed (the change's row
    chained then); the head now beside it when the pull request moved on."""
    ci_state, head_sha, detail = change.ci_state, change.head_sha, change.ci_detail
    merge_sha, checked_at = change.merge_sha, change.github_checked_at
    head_now = state_now = None
    if deployed_row is not None:
        ci_state = str(deployed_row.get("ci_state") or "none")
        head_sha, merge_sha = deployed_row.get("head_sha"), deployed_row.get("merge_sha")
        detail = deployed_row.get("ci_detail") or {}
        checked = deployed_row.get("github_checked_at")
        checked_at = datetime.fromisoformat(checked) if checked else None
        if change.head_sha != head_sha:
            head_now, state_now = change.head_sha, change.ci_state
    return CiEvidence(
        required=bool(change.pr_url) and policy.github.require_ci,
        pr_url=change.pr_url, pr_repo=change.pr_repo, pr_number=change.pr_number,
        state=ci_state, head_sha=head_sha, merge_sha=merge_sha,
        checks=_checks(detail),
        failing=tuple(str(c["name"]) for c in _named(detail.get("failing"))),
        checked_at=checked_at,
        github_error=change.github_error, pull_request=dict(change.pr_info),
        recorded=dict(detail), head_now=head_now, state_now=state_now,
    )


def _commits(change: Change, approvals: Sequence[Approval],
             deployed_row: dict[str, Any] | None) -> tuple[CommitEvidence, ...]:
    """Each head the pull request was pushed at, in order (the deployed one marked), with
    the GitHub reviews and Slack approvals given on it."""
    info = change.pr_info if isinstance(change.pr_info, dict) else {}
    if deployed_row is not None:
        heads = [*(deployed_row.get("pr_info") or {}).get("previous_heads", []),
                 deployed_row.get("head_sha")]
        deployed = deployed_row.get("head_sha")
    else:
        heads, deployed = [*info.get("previous_heads", []), change.head_sha], None
    reviews = [r for r in info.get("reviews", []) if isinstance(r, dict)]
    found = []
    for sha in dict.fromkeys(h for h in heads if h):
        given = [f"{r.get('slack_user') or 'gh:' + str(r.get('login'))} "
                 f"{str(r.get('state', '')).lower().replace('_', ' ')} {r.get('at', '')}"
                 for r in reviews if r.get("commit") == sha]
        given += [f"{_who(a)} {a.kind} {a.decision.replace('_', ' ')} "
                  f"{a.created_at.isoformat()} (Slack)"
                  for a in approvals if a.commit_sha == sha and a.source == "slack"]
        found.append(CommitEvidence(sha, sha == deployed, tuple(given)))
    return tuple(found)


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
    return change.deployed_at + monitoring_window(
        policy, Category(change.category), Risk(change.risk)
    )


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
        watched_by=change.watch.get("by"),
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


