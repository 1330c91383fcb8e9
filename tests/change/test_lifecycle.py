"""The change lifecycle as pure rules: each test is one sentence of the process."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.change.decisions import Decision
from bot.change.facts import ChangeFacts, Vote
from bot.change.gates import (
    GATES,
    Gate,
    approvals_gate,
    business_hours_gate,
    ci_gate,
    gates,
    production_blockers,
    security_review_gate,
    staging_gate,
)
from bot.change.states import (
    CLOSED,
    TRANSITIONS,
    Category,
    GateState,
    Risk,
    Status,
    allowed_next,
    can_transition,
    format_change_id,
    parse_change_id,
)
from bot.deployment.rules import (
    OPERATIONS,
    may_complete,
    may_operate,
    monitoring_ends_at,
    monitoring_window,
    status_after_step,
)
from bot.policy import BusinessHours, GitHubPolicy, Policy, Review, Windows
from bot.review.rules import (
    ApprovalRule,
    approval_rule,
    approvals_met,
    counted_approvers,
    may_approve,
    may_cancel,
    may_reject,
    may_revise,
    status_after_push,
    status_after_vote,
)
from bot.security.rules import may_decide_security

POLICY = Policy()
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # inside business hours
SATURDAY_10 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
AUTHOR = "UAUTHOR"

S = Status
ALL_STATUSES = list(Status)


def facts(**changes) -> ChangeFacts:
    base = ChangeFacts(
        category=Category.normal, risk=Risk.low, status=Status.in_review, author=AUTHOR
    )
    return replace(base, **changes)


def vote(user: str, *, tech_lead: bool = False, source: str = "slack") -> Vote:
    return Vote(user=user, at=WEDNESDAY_10, is_tech_lead=tech_lead, source=source)


def ready_to_ship(**changes) -> ChangeFacts:
    """A normal change that passed every gate."""
    passed = {
        "status": Status.ready,
        "approvals": (vote("UREV"),),
        "pr_linked": True,
        "ci_state": "success",
        "staging_verified": True,
    }
    return facts(**{**passed, **changes})


# --- enums ---------------------------------------------------------------------------


def test_status_values_are_the_stored_strings():
    assert [s.value for s in Status] == [
        "proposed",
        "in_review",
        "approved",
        "staging",
        "ready",
        "deploying",
        "monitoring",
        "completed",
        "rejected",
        "cancelled",
        "rolled_back",
    ]


def test_category_values_and_labels():
    assert [c.value for c in Category] == ["standard", "normal", "high_risk", "emergency"]
    assert [c.label for c in Category] == ["Standard", "Normal", "High-risk", "Emergency"]


def test_risk_and_gate_state_values():
    assert [r.value for r in Risk] == ["low", "medium", "high"]
    assert [g.value for g in GateState] == [
        "met",
        "pending",
        "failed",
        "unknown",
        "not_required",
        "bypassed",
    ]


# --- transitions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (S.proposed, S.in_review),
        (S.proposed, S.cancelled),
        (S.in_review, S.approved),
        (S.in_review, S.rejected),
        (S.in_review, S.cancelled),
        (S.in_review, S.in_review),
        (S.approved, S.staging),
        (S.approved, S.in_review),
        (S.approved, S.cancelled),
        (S.staging, S.ready),
        (S.staging, S.cancelled),
        (S.staging, S.in_review),
        (S.ready, S.deploying),
        (S.ready, S.monitoring),
        (S.ready, S.cancelled),
        (S.ready, S.in_review),
        (S.deploying, S.monitoring),
        (S.deploying, S.rolled_back),
        (S.monitoring, S.completed),
        (S.monitoring, S.rolled_back),
        (S.completed, S.rolled_back),
        (S.rejected, S.in_review),
        (S.rejected, S.cancelled),
    ],
)
def test_allowed_transitions(src, dst):
    assert can_transition(src, dst)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (S.proposed, S.approved),
        (S.proposed, S.deploying),
        (S.in_review, S.staging),
        (S.approved, S.deploying),
        (S.staging, S.deploying),
        (S.deploying, S.cancelled),
        (S.monitoring, S.cancelled),
        (S.completed, S.in_review),
        (S.rejected, S.approved),
    ],
)
def test_forbidden_transitions(src, dst):
    assert not can_transition(src, dst)


def test_every_status_has_transitions_listed():
    assert set(TRANSITIONS) == set(Status)


def test_cancelled_and_rolled_back_are_closed():
    assert sorted(CLOSED) == [S.cancelled, S.rolled_back]
    assert all(not allowed_next(s, c) for s in CLOSED for c in Category)


def test_rollback_is_possible_any_time_after_deployment():
    for status in (S.deploying, S.monitoring, S.completed):
        assert can_transition(status, S.rolled_back)


def test_emergency_may_go_to_production_at_once():
    for src in (S.proposed, S.in_review, S.approved):
        for dst in (S.deploying, S.monitoring):
            assert can_transition(src, dst, Category.emergency)
            assert dst in allowed_next(src, Category.emergency)


def test_other_categories_may_not_skip_to_production():
    for category in (Category.standard, Category.normal, Category.high_risk):
        assert not can_transition(S.proposed, S.deploying, category)
        assert S.deploying not in allowed_next(S.approved, category)


def test_emergency_keeps_the_normal_transitions():
    assert TRANSITIONS[S.in_review] <= allowed_next(S.in_review, Category.emergency)


# --- approval rules -------------------------------------------------------------------


def test_standard_change_needs_one_approval():
    assert approval_rule(POLICY, Category.standard, Risk.low) == ApprovalRule(1, 0)


def test_normal_change_needs_one_approval():
    assert approval_rule(POLICY, Category.normal, Risk.medium) == ApprovalRule(1, 0)


def test_normal_change_with_high_risk_needs_two_approvals():
    assert approval_rule(POLICY, Category.normal, Risk.high) == ApprovalRule(2, 0)


def test_high_risk_change_needs_two_peers_and_a_tech_lead():
    """"2 reviewer approvals + tech lead": three people by default."""
    assert approval_rule(POLICY, Category.high_risk, Risk.high) == ApprovalRule(3, 1)


def test_policy_may_count_the_tech_lead_as_one_of_the_two():
    policy = Policy(review=Review(tech_lead_counts_as_peer=True))
    assert approval_rule(policy, Category.high_risk, Risk.high) == ApprovalRule(2, 1)
    two = facts(category=Category.high_risk,
                approvals=(vote("UA"), vote("UTL", tech_lead=True)))
    assert approvals_met(two, policy)
    assert not approvals_met(two, POLICY)


def test_emergency_change_needs_one_approval():
    assert approval_rule(POLICY, Category.emergency, Risk.high) == ApprovalRule(1, 0)


def test_policy_overrides_change_the_numbers():
    policy = Policy(
        review=Review(
            standard=0,
            normal=3,
            normal_high_risk=4,
            high_risk=5,
            high_risk_tech_leads=2,
            emergency=2,
        )
    )
    assert approval_rule(policy, Category.standard, Risk.low) == ApprovalRule(0, 0)
    assert approval_rule(policy, Category.normal, Risk.low) == ApprovalRule(3, 0)
    assert approval_rule(policy, Category.normal, Risk.high) == ApprovalRule(4, 0)
    assert approval_rule(policy, Category.high_risk, Risk.low) == ApprovalRule(7, 2)
    assert approval_rule(policy, Category.emergency, Risk.low) == ApprovalRule(2, 0)


def test_one_approval_meets_a_normal_change():
    assert approvals_met(facts(approvals=(vote("UA"),)), POLICY)


def test_no_approval_does_not_meet_a_normal_change():
    assert not approvals_met(facts(), POLICY)


def test_policy_asking_three_approvals_is_not_met_by_two():
    policy = Policy(review=Review(normal=3))
    change = facts(approvals=(vote("UA"), vote("UB")))
    assert not approvals_met(change, policy)
    assert approvals_met(replace(change, approvals=(*change.approvals, vote("UC"))), policy)


def test_high_risk_with_two_approvals_but_no_tech_lead_is_not_approved():
    change = facts(category=Category.high_risk, approvals=(vote("UA"), vote("UB")))
    assert not approvals_met(change, POLICY)


def test_high_risk_with_two_peers_and_a_tech_lead_is_approved():
    change = facts(category=Category.high_risk, approvals=(vote("UA"), vote("UTL", tech_lead=True)))
    assert not approvals_met(change, POLICY)
    change = replace(change, approvals=(*change.approvals, vote("UB")))
    assert approvals_met(change, POLICY)


def test_high_risk_with_only_a_tech_lead_is_not_approved():
    change = facts(category=Category.high_risk, approvals=(vote("UTL", tech_lead=True),))
    assert not approvals_met(change, POLICY)


def test_duplicate_approvals_count_once():
    change = facts(risk=Risk.high, approvals=(vote("UA"), vote("UA"), vote("UA")))
    assert counted_approvers(change, POLICY) == {"UA": False}
    assert not approvals_met(change, POLICY)


def test_same_person_on_slack_and_github_counts_once():
    change = facts(risk=Risk.high, approvals=(vote("UA"), vote("UA", source="github")))
    assert not approvals_met(change, POLICY)


def test_two_tech_lead_votes_of_one_person_do_not_make_two_approvals():
    change = facts(
        category=Category.high_risk,
        approvals=(vote("UTL", tech_lead=True), vote("UTL", tech_lead=True, source="github")),
    )
    assert not approvals_met(change, POLICY)


def test_tech_lead_flag_on_any_vote_of_a_person_counts():
    change = facts(
        category=Category.high_risk,
        approvals=(vote("UTL", source="github"), vote("UTL", tech_lead=True), vote("UB"),
                   vote("UC")),
    )
    assert counted_approvers(change, POLICY) == {"UTL": True, "UB": False, "UC": False}
    assert approvals_met(change, POLICY)


def test_authors_own_approval_never_counts():
    change = facts(approvals=(vote(AUTHOR),))
    assert counted_approvers(change, POLICY) == {}
    assert not approvals_met(change, POLICY)


def test_authors_tech_lead_approval_never_counts():
    change = facts(
        category=Category.high_risk,
        approvals=(vote(AUTHOR, tech_lead=True), vote("UA"), vote("UB")),
    )
    assert not approvals_met(change, POLICY)


def test_github_reviews_do_not_count_when_the_policy_says_so():
    policy = Policy(github=GitHubPolicy(count_pr_reviews=False))
    change = facts(approvals=(vote("UA", source="github"),))
    assert approvals_met(change, POLICY)
    assert not approvals_met(change, policy)


def test_security_approval_counts_as_peer_only_when_the_policy_says_so():
    change = facts(security_required=True, security_approved_by="USEC")
    assert not approvals_met(change, POLICY)
    assert approvals_met(change, Policy(review=Review(security_counts_as_peer=True)))


def test_vote_in_review_approves_once_approvals_are_met():
    assert status_after_vote(facts(approvals=(vote("UA"),)), POLICY) == S.approved


def test_vote_short_of_the_rule_stays_in_review():
    change = facts(category=Category.high_risk, approvals=(vote("UA"),))
    assert status_after_vote(change, POLICY) == S.in_review


def test_vote_outside_review_keeps_the_status():
    change = facts(category=Category.emergency, status=S.monitoring, approvals=(vote("UA"),))
    assert status_after_vote(change, POLICY) == S.monitoring


def test_push_sends_an_approved_change_back_to_review():
    for status in (S.approved, S.staging, S.ready):
        assert status_after_push(facts(status=status), POLICY) == S.in_review


def test_push_keeps_approval_when_the_policy_says_so():
    policy = Policy(github=GitHubPolicy(reset_approvals_on_push=False))
    assert status_after_push(facts(status=S.approved), policy) == S.approved


def test_push_after_deployment_changes_nothing():
    assert status_after_push(facts(status=S.monitoring), POLICY) == S.monitoring


# --- gates: CI ------------------------------------------------------------------------


def test_ci_gate_not_required_without_a_pull_request():
    gate = ci_gate(facts(), POLICY, WEDNESDAY_10)
    assert gate.state == GateState.not_required


def test_ci_gate_not_required_when_the_policy_does_not_require_ci():
    policy = Policy(github=GitHubPolicy(require_ci=False))
    gate = ci_gate(facts(pr_linked=True, ci_state="failure"), policy, WEDNESDAY_10)
    assert gate.state == GateState.not_required


def test_ci_gate_met_when_checks_pass():
    gate = ci_gate(facts(pr_linked=True, ci_state="success"), POLICY, WEDNESDAY_10)
    assert gate.state == GateState.met


def test_ci_gate_failed_names_the_failing_checks():
    change = facts(pr_linked=True, ci_state="failure", ci_failing=("unit-tests", "lint"))
    gate = ci_gate(change, POLICY, WEDNESDAY_10)
    assert gate.state == GateState.failed
    assert gate.detail == "failing: unit-tests, lint"
    assert gate.how_to_open


def test_ci_gate_pending_while_checks_run():
    gate = ci_gate(facts(pr_linked=True, ci_state="pending"), POLICY, WEDNESDAY_10)
    assert gate.state == GateState.pending


def test_ci_gate_pending_before_any_check_reports():
    gate = ci_gate(facts(pr_linked=True, ci_state="none"), POLICY, WEDNESDAY_10)
    assert gate.state == GateState.pending


def test_ci_gate_unknown_when_github_is_unreachable():
    gate = ci_gate(facts(pr_linked=True, ci_state="unknown"), POLICY, WEDNESDAY_10)
    assert gate.state == GateState.unknown
    assert gate.detail == "unknown — GitHub unreachable"


# --- gates: approvals -----------------------------------------------------------------


def test_approvals_gate_met_shows_the_count():
    change = facts(risk=Risk.high, approvals=(vote("UA"), vote("UB")))
    gate = approvals_gate(change, POLICY, WEDNESDAY_10)
    assert (gate.state, gate.detail) == (GateState.met, "2 of 2 approvals")


def test_approvals_gate_pending_says_what_is_missing():
    gate = approvals_gate(facts(), POLICY, WEDNESDAY_10)
    assert (gate.state, gate.detail, gate.how_to_open) == (
        GateState.pending,
        "0 of 1 approval",
        "one more approval",
    )


def test_approvals_gate_high_risk_needs_a_tech_lead():
    change = facts(category=Category.high_risk, approvals=(vote("UA"),))
    gate = approvals_gate(change, POLICY, WEDNESDAY_10)
    assert gate.state == GateState.pending
    assert gate.detail == "1 of 3 approvals — needs a tech lead"
    assert gate.how_to_open == "2 more approvals, one from a tech lead"


def test_approvals_gate_high_risk_with_two_peers_still_needs_a_tech_lead():
    change = facts(category=Category.high_risk, approvals=(vote("UA"), vote("UB")))
    gate = approvals_gate(change, POLICY, WEDNESDAY_10)
    assert gate.state == GateState.pending
    assert gate.detail == "2 of 3 approvals — needs a tech lead"
    assert gate.how_to_open == "one more approval from a tech lead"


def test_approvals_gate_high_risk_without_any_approval():
    gate = approvals_gate(facts(category=Category.high_risk), POLICY, WEDNESDAY_10)
    assert gate.how_to_open == "3 more approvals, one from a tech lead"


def test_approvals_gate_failed_when_rejected():
    change = facts(status=S.rejected, rejected_by="UREV")
    gate = approvals_gate(change, POLICY, WEDNESDAY_10)
    assert (gate.state, gate.detail) == (GateState.failed, "rejected by <@UREV>")
    assert gate.how_to_open


def test_approvals_gate_not_required_when_the_policy_asks_none():
    policy = Policy(review=Review(standard=0))
    gate = approvals_gate(facts(category=Category.standard), policy, WEDNESDAY_10)
    assert gate.state == GateState.not_required


def test_approvals_gate_of_an_emergency_does_not_block_production():
    gate = approvals_gate(facts(category=Category.emergency), POLICY, WEDNESDAY_10)
    assert gate.state == GateState.pending
    assert "after deployment" in gate.detail
    assert not gate.blocks_production


# --- gates: security review -----------------------------------------------------------


def test_security_gate_not_required_when_not_triggered():
    assert security_review_gate(facts(), POLICY, WEDNESDAY_10).state == GateState.not_required


def test_security_gate_pending_while_waiting_for_the_security_team():
    gate = security_review_gate(facts(security_required=True), POLICY, WEDNESDAY_10)
    assert (gate.state, gate.detail) == (GateState.pending, "waiting for the security team")
    assert gate.blocks_production


def test_security_gate_met_names_the_approver():
    change = facts(security_required=True, security_approved_by="USEC")
    gate = security_review_gate(change, POLICY, WEDNESDAY_10)
    assert (gate.state, gate.detail) == (GateState.met, "approved by <@USEC>")


def test_security_gate_failed_when_changes_are_requested():
    change = facts(security_required=True, security_changes_requested=True)
    gate = security_review_gate(change, POLICY, WEDNESDAY_10)
    assert (gate.state, gate.detail) == (GateState.failed, "changes requested")
    assert gate.how_to_open


def test_security_gate_bypassed_when_overridden():
    change = facts(security_required=True, security_override_by="UTL")
    gate = security_review_gate(change, POLICY, WEDNESDAY_10)
    assert gate.state == GateState.bypassed
    assert "<@UTL>" in gate.detail


def test_security_gate_of_an_emergency_may_come_after_deployment():
    change = facts(category=Category.emergency, security_required=True)
    gate = security_review_gate(change, POLICY, WEDNESDAY_10)
    assert gate.state == GateState.pending
    assert not gate.blocks_production


# --- gates: staging and business hours ------------------------------------------------


def test_staging_gate_pending_until_verified():
    gate = staging_gate(facts(status=S.staging), POLICY, WEDNESDAY_10)
    assert gate.state == GateState.pending
    assert gate.how_to_open


def test_staging_gate_met_when_verified():
    assert staging_gate(facts(staging_verified=True), POLICY, WEDNESDAY_10).state == (GateState.met)


def test_staging_gate_not_required_for_emergencies():
    change = facts(category=Category.emergency)
    assert staging_gate(change, POLICY, WEDNESDAY_10).state == GateState.not_required


def test_business_hours_gate_met_inside_hours():
    assert business_hours_gate(facts(), POLICY, WEDNESDAY_10).state == GateState.met


def test_business_hours_gate_failed_outside_hours_says_when_to_deploy():
    gate = business_hours_gate(facts(), POLICY, SATURDAY_10)
    assert gate.state == GateState.failed
    assert gate.detail == "outside business hours (Mon–Fri 09:00–17:00 UTC)"
    assert gate.how_to_open == "deploy after Mon 30 Nov 09:00 UTC"


def test_business_hours_gate_reads_the_policy():
    policy = Policy(business_hours=BusinessHours(days="mon-sun"))
    assert business_hours_gate(facts(), policy, SATURDAY_10).state == GateState.met


def test_business_hours_gate_not_required_for_emergencies():
    change = facts(category=Category.emergency)
    assert business_hours_gate(change, POLICY, SATURDAY_10).state == GateState.not_required


# --- all gates ------------------------------------------------------------------------


def test_gates_come_in_the_order_of_the_process():
    keys = [g.key for g in gates(facts(), POLICY, WEDNESDAY_10)]
    assert keys == ["ci", "approvals", "infrastructure", "security_review", "staging",
                    "business_hours", "freeze"]
    owned = POLICY.model_copy(update={"github": GitHubPolicy(use_codeowners=True)})
    assert [g.key for g in gates(facts(), owned, WEDNESDAY_10)][2:5] == [
        "infrastructure", "code_owners", "security_review"]


def test_a_change_that_passed_everything_has_no_blockers():
    assert production_blockers(ready_to_ship(), POLICY, WEDNESDAY_10) == []


def test_blockers_are_the_gates_not_met():
    change = ready_to_ship(approvals=(), ci_state="failure")
    keys = [g.key for g in production_blockers(change, POLICY, SATURDAY_10)]
    assert keys == ["ci", "approvals", "business_hours"]


def test_unknown_ci_blocks_production():
    change = ready_to_ship(ci_state="unknown")
    assert [g.key for g in production_blockers(change, POLICY, WEDNESDAY_10)] == ["ci"]


def test_bypassed_security_review_does_not_block():
    change = ready_to_ship(security_required=True, security_override_by="UTL")
    assert production_blockers(change, POLICY, WEDNESDAY_10) == []


def test_emergency_on_a_saturday_without_approval_has_no_blockers():
    change = facts(category=Category.emergency, status=S.proposed, security_required=True)
    assert production_blockers(change, POLICY, SATURDAY_10) == []


def test_a_new_gate_is_one_function_in_the_list(monkeypatch):
    def change_freeze(facts, policy, now):
        return Gate("freeze", "Change freeze", GateState.failed, "end-of-year freeze")

    monkeypatch.setattr("bot.change.gates.GATES", [*GATES, change_freeze])
    keys = [g.key for g in production_blockers(ready_to_ship(), POLICY, WEDNESDAY_10)]
    assert keys == ["freeze"]


# --- permissions: approve -------------------------------------------------------------


def test_author_may_not_approve():
    decision = may_approve(facts(), AUTHOR)
    assert not decision.allowed
    assert decision.reason == (
        "You can't approve your own change: segregation of duties requires someone else "
        "to review it."
    )


def test_reviewer_may_approve_a_change_in_review():
    assert may_approve(facts(), "UA") == Decision(True)


def test_second_click_is_refused_so_it_counts_once():
    decision = may_approve(facts(approvals=(vote("UA"),)), "UA")
    assert not decision.allowed
    assert decision.reason.startswith("You have already approved")


def test_approval_on_github_does_not_stop_an_approval_in_slack():
    assert may_approve(facts(approvals=(vote("UA", source="github"),)), "UA").allowed


@pytest.mark.parametrize("status", [S.rejected, S.cancelled, S.completed, S.rolled_back])
def test_approval_refused_when_the_change_is_over_or_rejected(status):
    decision = may_approve(facts(status=status), "UA")
    assert not decision.allowed
    assert decision.reason


@pytest.mark.parametrize("status", [S.deploying, S.monitoring, S.completed])
def test_normal_change_may_not_be_approved_after_deployment(status):
    decision = may_approve(facts(status=status), "UA")
    assert not decision.allowed
    assert "emergency" in decision.reason


@pytest.mark.parametrize("status", [S.deploying, S.monitoring, S.completed])
def test_emergency_change_may_be_approved_after_deployment(status):
    assert may_approve(facts(category=Category.emergency, status=status), "UA").allowed


def test_rolled_back_emergency_may_not_be_approved():
    change = facts(category=Category.emergency, status=S.rolled_back)
    assert not may_approve(change, "UA").allowed


def test_decision_is_truthy_only_when_allowed():
    assert may_approve(facts(), "UA")
    assert not may_approve(facts(), AUTHOR)


# --- permissions: reject, revise, cancel ----------------------------------------------


def test_author_may_not_reject():
    decision = may_reject(facts(), AUTHOR)
    assert not decision.allowed
    assert decision.reason


@pytest.mark.parametrize("status", [S.in_review, S.approved, S.staging, S.ready])
def test_reviewer_may_reject_before_production(status):
    assert may_reject(facts(status=status), "UA").allowed
    assert can_transition(status, S.rejected)


@pytest.mark.parametrize(
    "status",
    [S.proposed, S.deploying, S.monitoring, S.completed, S.rejected, S.cancelled, S.rolled_back],
)
def test_reject_refused_outside_review_with_a_reason(status):
    decision = may_reject(facts(status=status), "UA")
    assert not decision.allowed
    assert decision.reason


@pytest.mark.parametrize("check", [may_revise, may_cancel])
def test_only_the_author_may_revise_or_cancel(check):
    decision = check(facts(), "UA")
    assert not decision.allowed
    assert f"<@{AUTHOR}>" in decision.reason


@pytest.mark.parametrize("check", [may_revise, may_cancel])
@pytest.mark.parametrize(
    "status", [S.proposed, S.in_review, S.approved, S.staging, S.ready, S.rejected]
)
def test_author_may_revise_or_cancel_before_production(check, status):
    assert check(facts(status=status), AUTHOR).allowed


@pytest.mark.parametrize("check", [may_revise, may_cancel])
@pytest.mark.parametrize("status", [S.deploying, S.monitoring, S.completed])
def test_no_revision_or_cancellation_after_production_deploy(check, status):
    decision = check(facts(status=status), AUTHOR)
    assert not decision.allowed
    assert "roll" in decision.reason.lower() or "new change" in decision.reason


def test_cancel_refuses_a_cancelled_change():
    decision = may_cancel(facts(status=S.cancelled), AUTHOR)
    assert not decision.allowed
    assert decision.reason == "This change is already cancelled."


def test_revise_refuses_a_closed_change():
    decision = may_revise(facts(status=S.rolled_back), AUTHOR)
    assert not decision.allowed
    assert "new change" in decision.reason


# --- permissions: security review -----------------------------------------------------


def test_security_decision_refused_outside_the_security_group():
    decision = may_decide_security(facts(security_required=True), "UA", False)
    assert not decision.allowed
    assert "security team" in decision.reason


def test_security_decision_refused_to_the_author_even_in_the_group():
    decision = may_decide_security(facts(security_required=True), AUTHOR, True)
    assert not decision.allowed
    assert "your own change" in decision.reason


def test_security_member_may_decide_a_pending_review():
    assert may_decide_security(facts(security_required=True), "USEC", True).allowed


def test_security_decision_refused_when_no_review_is_needed():
    decision = may_decide_security(facts(), "USEC", True)
    assert not decision.allowed
    assert decision.reason


@pytest.mark.parametrize(
    "decided",
    [
        {"security_approved_by": "USEC2"},
        {"security_changes_requested": True},
        {"security_override_by": "UTL"},
    ],
)
def test_security_decision_refused_once_decided(decided):
    decision = may_decide_security(facts(security_required=True, **decided), "USEC", True)
    assert not decision.allowed
    assert decision.reason


def test_security_decision_refused_on_a_cancelled_change():
    change = facts(security_required=True, status=S.cancelled)
    assert not may_decide_security(change, "USEC", True).allowed


def test_emergency_security_review_may_be_decided_after_deployment():
    change = facts(category=Category.emergency, security_required=True, status=S.monitoring)
    assert may_decide_security(change, "USEC", True).allowed


# --- permissions: staging, deploy, verify, rollback -----------------------------------


def test_someone_else_may_not_operate_without_the_deployer_group():
    decision = may_operate(facts(status=S.approved), "UA", False, "staging")
    assert not decision.allowed
    assert "deployers" in decision.reason


def test_deployer_may_operate_someone_elses_change():
    assert may_operate(facts(status=S.approved), "UDEP", True, "staging").allowed


@pytest.mark.parametrize(
    ("step", "status", "after"),
    [
        ("staging", S.approved, S.staging),
        ("verify", S.staging, S.ready),
        ("deploy", S.ready, S.deploying),
        ("deployed", S.ready, S.monitoring),
        ("deployed", S.deploying, S.monitoring),
        ("verify", S.monitoring, S.completed),
        ("rollback", S.deploying, S.rolled_back),
        ("rollback", S.monitoring, S.rolled_back),
        ("rollback", S.completed, S.rolled_back),
    ],
)
def test_author_may_operate_when_the_status_allows(step, status, after):
    change = facts(status=status)
    assert may_operate(change, AUTHOR, False, step).allowed
    assert status_after_step(change, step) == after
    assert can_transition(status, after)


@pytest.mark.parametrize(
    ("step", "status"),
    [
        ("staging", S.in_review),
        ("deploy", S.approved),
        ("deploy", S.staging),
        ("verify", S.approved),
        ("rollback", S.ready),
        ("rollback", S.rolled_back),
    ],
)
def test_operation_refused_when_the_status_does_not_allow_it(step, status):
    decision = may_operate(facts(status=status), AUTHOR, False, step)
    assert not decision.allowed
    assert decision.reason.startswith("You can't")


@pytest.mark.parametrize("status", [S.proposed, S.in_review, S.approved])
def test_emergency_may_deploy_at_once(status):
    change = facts(category=Category.emergency, status=status)
    assert may_operate(change, AUTHOR, False, "deploy").allowed
    assert status_after_step(change, "deploy") == S.deploying
    assert can_transition(status, S.deploying, Category.emergency)


def test_unknown_step_is_a_programming_error():
    with pytest.raises(ValueError, match="not a step"):
        may_operate(facts(), AUTHOR, False, "launch")


# --- monitoring -----------------------------------------------------------------------


def test_monitoring_window_from_the_policy():
    assert monitoring_window(POLICY, Category.normal) == timedelta(minutes=30)
    assert monitoring_window(POLICY, Category.high_risk) == timedelta(minutes=60)


def test_monitoring_window_policy_override():
    policy = Policy(windows=Windows(monitoring="45m", monitoring_high_risk="2h"))
    assert monitoring_window(policy, Category.emergency) == timedelta(minutes=45)
    assert monitoring_window(policy, Category.high_risk) == timedelta(hours=2)


def test_monitoring_ends_after_the_window():
    change = facts(status=S.monitoring, deployed_at=WEDNESDAY_10)
    assert monitoring_ends_at(change, POLICY) == WEDNESDAY_10 + timedelta(minutes=30)
    assert monitoring_ends_at(facts(), POLICY) is None


def test_completion_refused_during_monitoring():
    change = facts(status=S.monitoring, deployed_at=WEDNESDAY_10)
    decision = may_complete(change, POLICY, WEDNESDAY_10 + timedelta(minutes=29))
    assert not decision.allowed
    assert decision.reason == (
        "Keep monitoring until Wed 25 Nov 10:30 UTC: the process asks for 30 minutes of "
        "monitoring after the deployment."
    )


def test_completion_allowed_once_monitoring_is_over():
    change = facts(status=S.monitoring, deployed_at=WEDNESDAY_10)
    assert may_complete(change, POLICY, WEDNESDAY_10 + timedelta(minutes=30)).allowed


def test_completion_of_a_high_risk_change_waits_longer():
    change = facts(category=Category.high_risk, status=S.monitoring, deployed_at=WEDNESDAY_10)
    assert not may_complete(change, POLICY, WEDNESDAY_10 + timedelta(minutes=45)).allowed


def test_completion_refused_when_not_monitoring():
    decision = may_complete(facts(status=S.ready), POLICY, WEDNESDAY_10)
    assert not decision.allowed
    assert decision.reason


# --- change ids -----------------------------------------------------------------------


def test_format_change_id():
    assert format_change_id(12) == "CHG-12"


@pytest.mark.parametrize("text", ["CHG-12", "chg-12", "12", " CHG-12 "])
def test_parse_change_id(text):
    assert parse_change_id(text) == 12


@pytest.mark.parametrize("text", ["", "CHG-", "CHG-x", "ABC-12", "-3", "CHG-0", "12.5"])
def test_parse_change_id_refuses_other_text(text):
    with pytest.raises(ValueError, match="is not a change id: write it like CHG-12"):
        parse_change_id(text)


def test_every_status_is_reachable_or_the_start():
    reachable = {dst for nexts in TRANSITIONS.values() for dst in nexts}
    assert set(ALL_STATUSES) - reachable == {S.proposed}


def test_every_operation_follows_an_allowed_transition():
    for operation in OPERATIONS.values():
        for src, dst in operation.moves.items():
            assert can_transition(src, dst)
        for src, dst in operation.emergency_moves.items():
            assert can_transition(src, dst, Category.emergency)
