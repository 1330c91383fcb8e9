"""Every rule of the process a change broke, or bypassed (emergency, override), judged
from its record and the policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.change.gates import AFTER_DEPLOYMENT_GATES
from bot.change.states import Category, Status
from bot.deployment.rules import parse_deploy_exception
from bot.evidence.records import (
    BROKEN,
    BYPASSED,
    RECORDED,
    ChangeRecord,
    RuleException,
)
from bot.policy import Policy
from bot.runtime.durations import spell


def _spell(delta: timedelta) -> str:
    return spell(delta, smallest="min")


def with_exceptions(record: ChangeRecord, recorded: Sequence[str], policy: Policy,
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
    wanted = sod.requirement or f"{sod.required} approval{'s' if sod.required != 1 else ''}"
    window = policy.windows.emergency_approval
    approval_due = deployment.at + window

    def too_late(moment: datetime) -> str:
        return (f"{_spell(moment - deployment.at)} after deployment, "
                f"{_spell(moment - approval_due)} later than the emergency process allows "
                f"({_spell(window)})")

    approved_at = record.emergency.approved_at if record.emergency else None
    chased = escalated(record, "approval_missing_reminded", deployment.at,
                       "after deployment")
    if not sod.met_before_deployment:
        if emergency and sod.met and approved_at is not None and approved_at > approval_due:
            add("approvals", BROKEN, f"approved {too_late(approved_at)} ({wanted}){chased}")
        elif emergency and sod.met:
            add("approvals", BYPASSED,
                f"approved after deployment under the emergency process ({wanted})")
        elif emergency and now > approval_due:
            add("approvals", BROKEN, "emergency change still not approved "
                f"{_spell(now - deployment.at)} after deployment ({wanted} needed){chased}")
        elif not emergency:
            add("approvals", BROKEN, f"deployed without {wanted}")
    for named in sod.named:  # the infrastructure team's, the code owners': the emergency's
        if emergency and not named.met and now > approval_due:  # (others' are the gate's)
            add(named.rule, BROKEN, f"still missing {_spell(now - deployment.at)} after "
                f"deployment: {named.detail}")

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
        elif emergency and security.approved_at and security.approved_at > approval_due:
            add("security_review", BROKEN,
                f"security review approved {too_late(security.approved_at)}")
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
    rollback = record.rollback
    if verification is not None:
        ends = verification.window_ends_at
        grace = policy.windows.verification_grace
        watch = f" ({verification.watched_by} was on watch)" if verification.watched_by else ""
        # Rolled back before its window was over: the rollback is its verdict.
        rolled_back_at = rollback.started_at if rollback else None
        stopped = rolled_back_at is not None and (ends is None or rolled_back_at <= ends + grace)
        if stopped or (record.status == Status.rolled_back and rolled_back_at is None):
            pass
        elif verification.verified_at is None:
            if record.status == Status.completed:
                add("verification", BROKEN, f"completed without a verification{watch}")
            elif ends is not None and rolled_back_at is not None:
                add("verification", BROKEN, f"the watch ended {_iso(ends)} with no "
                    f"verification{watch}; rolled back {_spell(rolled_back_at - ends)} later")
            elif ends is not None and now > ends + grace:
                add("verification", BROKEN,
                    f"not verified; the monitoring window ended {_iso(ends)}{watch}")
        elif verification.within_window is False and ends is not None:
            late = verification.verified_at - ends
            add("verification", BROKEN, f"verified {_spell(late)} after the monitoring "
                "window ended (beyond the grace of "
                f"{_spell(policy.windows.verification_grace)})")

    # Step 8: "Rollback: 5-15 minutes" — finished within the policy's `windows.rollback`.
    target = policy.windows.rollback
    if rollback is not None and rollback.started_at is not None and target:
        took = (rollback.finished_at or now) - rollback.started_at
        if took > target:
            what = (f"rollback took {_spell(took)}" if rollback.finished_at else
                    f"rollback still not finished {_spell(took)} after it started")
            add("rollback", BROKEN, f"{what}, over the {_spell(target)} target")

    # Emergencies: the retrospective within the policy's delay.
    emergency_record = record.emergency
    if emergency_record is not None and emergency_record.retrospective in ("late", "overdue"):
        due = emergency_record.retrospective_due_at
        assert due is not None
        chased = escalated(record, "retrospective_overdue", due, "after it was due")
        if emergency_record.retrospective_done_at is not None:
            late = emergency_record.retrospective_done_at - due
            add("retrospective", BROKEN, f"retrospective done {_spell(late)} late{chased}")
        else:
            add("retrospective", BROKEN, f"retrospective overdue since {_iso(due)}{chased}")
    return found


def escalated(record: ChangeRecord, action: str, since: datetime, what: str) -> str:
    """`, after 3 escalations to the tech leads (the last 2 d 4 h after deployment)`: how
    often the follow-up had to be chased (bot.emergency.after_deployment repeats it every
    `windows.escalation_repeat` until done), and how late the last one was."""
    times = [e.at for e in record.timeline if e.action == action]
    if not times:
        return ""
    late = f"{_spell(times[-1] - since)} {what}"
    if len(times) == 1:
        return f", after 1 escalation to the tech leads ({late})"
    return f", after {len(times)} escalations to the tech leads (the last {late})"


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


