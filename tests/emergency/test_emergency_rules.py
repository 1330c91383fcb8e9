"""Emergency changes as pure rules: what they skip, approval after deployment, the retrospective."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.change.facts import ChangeFacts, Vote
from bot.change.gates import approvals_gate, ci_gate, production_blockers
from bot.change.states import Category, GateState, Risk, Status
from bot.emergency.rules import (
    awaits_emergency_approval,
    emergency_bypasses,
    may_record_retrospective,
    needs_retrospective,
    retrospective_due,
    retrospective_overdue,
    status_after_retrospective,
)
from bot.policy import Emergency, Policy, Windows
from bot.review.rules import approved_after_deployment

POLICY = Policy()
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SATURDAY_3 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
AUTHOR = "UAUTHOR"
S = Status


def emergency(**changes) -> ChangeFacts:
    base = ChangeFacts(category=Category.emergency, risk=Risk.high, status=S.in_review,
                       author=AUTHOR)
    return replace(base, **changes)


def vote(user: str, at: datetime) -> Vote:
    return Vote(user=user, at=at)


def deployed(at: datetime = WEDNESDAY_10, **changes) -> ChangeFacts:
    return emergency(**{"status": S.monitoring, "deployed_at": at,
                        "retrospective_due_at": at + timedelta(hours=24), **changes})


# --- what an emergency deploy skips ---------------------------------------------------


def test_an_emergency_on_saturday_night_skips_everything_and_says_so():
    change = emergency(security_required=True)
    assert production_blockers(change, POLICY, SATURDAY_3) == []
    bypassed = {b.gate: b.reason for b in emergency_bypasses(change, POLICY, SATURDAY_3)}
    assert list(bypassed) == ["approvals", "security_review", "staging", "business_hours"]
    assert bypassed["business_hours"] == (
        "deployed outside business hours (Mon–Fri 09:00–17:00 UTC) under the emergency process")
    assert bypassed["approvals"].startswith("deployed before approval (0 of 1) under the "
                                            "emergency process")
    assert bypassed["staging"] == (
        "deployed without validation in staging under the emergency process")


def test_inside_business_hours_with_an_approval_only_staging_is_skipped():
    change = emergency(approvals=(vote("UREV", WEDNESDAY_10),))
    assert [b.gate for b in emergency_bypasses(change, POLICY, WEDNESDAY_10)] == ["staging"]


def test_a_normal_change_bypasses_nothing():
    normal = emergency(category=Category.normal)
    assert emergency_bypasses(normal, POLICY, SATURDAY_3) == []


def test_red_ci_holds_an_emergency_deploy_by_default():
    change = emergency(pr_linked=True, ci_state="failure",
                       ci_failing=("unit-tests",), approvals=(vote("UREV", WEDNESDAY_10),))
    gate = ci_gate(change, POLICY, WEDNESDAY_10)
    assert gate.state == GateState.failed and gate.blocks_production
    assert [g.key for g in production_blockers(change, POLICY, WEDNESDAY_10)] == ["ci"]


def test_a_policy_may_let_an_emergency_deploy_before_ci_and_records_the_bypass():
    policy = Policy(emergency=Emergency(require_ci=False))
    change = emergency(pr_linked=True, ci_state="failure",
                       ci_failing=("unit-tests",), approvals=(vote("UREV", WEDNESDAY_10),))
    gate = ci_gate(change, policy, WEDNESDAY_10)
    assert gate.state == GateState.failed and not gate.blocks_production
    assert gate.detail == "failing: unit-tests — does not hold an emergency deploy"
    assert gate.how_to_open == ""  # nothing to wait for before deploying
    assert production_blockers(change, policy, WEDNESDAY_10) == []
    [ci, staging] = emergency_bypasses(change, policy, WEDNESDAY_10)
    assert ci.reason == ("deployed with CI not green (failing: unit-tests) under the "
                         "emergency process")
    green = replace(change, ci_state="success")
    assert ci_gate(green, policy, WEDNESDAY_10).blocks_production
    assert [b.gate for b in emergency_bypasses(green, policy, WEDNESDAY_10)] == ["staging"]


# --- approval after the fact ----------------------------------------------------------


def test_an_approval_after_the_deployment_is_told_apart():
    later = WEDNESDAY_10 + timedelta(hours=1)
    after = deployed(approvals=(vote("UREV", later),))
    assert approved_after_deployment(after, POLICY)
    assert approvals_gate(after, POLICY, later).detail == (
        "1 of 1 approval — approved after deployment")
    before = deployed(approvals=(vote("UREV", WEDNESDAY_10 - timedelta(minutes=5)),))
    assert not approved_after_deployment(before, POLICY)
    assert approvals_gate(before, POLICY, later).detail == "1 of 1 approval"
    assert not approved_after_deployment(deployed(), POLICY)  # not approved at all


def test_the_authors_own_approval_never_counts_after_deployment_either():
    own = deployed(approvals=(vote(AUTHOR, WEDNESDAY_10 + timedelta(hours=1)),))
    assert not approved_after_deployment(own, POLICY)
    assert awaits_emergency_approval(own, POLICY)


def test_the_approval_is_awaited_only_while_it_is_in_production():
    assert awaits_emergency_approval(deployed(), POLICY)
    assert not awaits_emergency_approval(emergency(), POLICY)  # not deployed yet
    assert not awaits_emergency_approval(deployed(status=S.rolled_back), POLICY)
    approved = deployed(approvals=(vote("UREV", WEDNESDAY_10),))
    assert not awaits_emergency_approval(approved, POLICY)


# --- the retrospective ----------------------------------------------------------------


def test_the_retrospective_is_due_a_policy_delay_after_the_deployment():
    assert retrospective_due(POLICY, WEDNESDAY_10) == WEDNESDAY_10 + timedelta(hours=24)
    policy = Policy(windows=Windows(retrospective="48h"))
    assert retrospective_due(policy, WEDNESDAY_10) == WEDNESDAY_10 + timedelta(hours=48)


def test_a_rolled_back_emergency_still_needs_its_retrospective():
    assert needs_retrospective(deployed(status=S.rolled_back))
    assert not needs_retrospective(emergency())  # never deployed
    assert not needs_retrospective(deployed(retrospective_done_at=WEDNESDAY_10))
    assert not needs_retrospective(deployed(category=Category.normal))


def test_overdue_from_the_due_time_until_it_is_recorded():
    change = deployed()
    due = WEDNESDAY_10 + timedelta(hours=24)
    assert not retrospective_overdue(change, due - timedelta(seconds=1))
    assert retrospective_overdue(change, due)
    assert not retrospective_overdue(replace(change, retrospective_done_at=due), due)


def test_the_author_or_a_tech_lead_records_it_once_after_the_deployment():
    change = deployed()
    assert may_record_retrospective(change, AUTHOR, False)
    assert may_record_retrospective(change, "ULEAD", True)
    other = may_record_retrospective(change, "UREV", False)
    assert not other and "Only the author (<@UAUTHOR>) or a tech lead" in other.reason
    done = may_record_retrospective(replace(change, retrospective_done_at=WEDNESDAY_10),
                                    AUTHOR, False)
    assert "already recorded" in done.reason
    early = may_record_retrospective(emergency(), AUTHOR, False)
    assert "has not been deployed" in early.reason
    normal = may_record_retrospective(deployed(category=Category.normal), AUTHOR, False)
    assert normal.reason == "Only emergency changes have a retrospective."


def test_the_retrospective_completes_a_monitored_emergency_once_its_window_is_over():
    change = deployed()
    assert status_after_retrospective(change, POLICY, WEDNESDAY_10 + timedelta(hours=2)) == (
        S.completed)
    assert status_after_retrospective(change, POLICY, WEDNESDAY_10 + timedelta(minutes=10)) == (
        S.monitoring)  # still inside the monitoring window: verification closes it later
    for status in (S.completed, S.rolled_back):
        assert status_after_retrospective(deployed(status=status), POLICY,
                                          WEDNESDAY_10 + timedelta(hours=2)) == status
