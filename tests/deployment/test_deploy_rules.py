"""Steps 5–8 as pure rules (bot.lifecycle): who may deploy, what must be validated."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.change.facts import ChangeFacts, Vote
from bot.change.states import Category, Risk, Status
from bot.deployment.rules import (
    check_staging_validation,
    check_verification,
    may_deploy,
    may_finish_rollback,
    may_verify_production,
    may_verify_staging,
    needs_manual_deployment,
    rollback_duration,
)
from bot.policy import Policy

POLICY = Policy()
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
AUTHOR = "UAUTHOR"
S = Status


def ready(**changes) -> ChangeFacts:
    base = ChangeFacts(category=Category.normal, risk=Risk.low, status=S.ready, author=AUTHOR,
                       approvals=(Vote("UREV", WEDNESDAY_10),), staging_verified=True)
    return replace(base, **changes)


def test_the_author_may_deploy_a_ready_change_inside_business_hours():
    assert may_deploy(ready(), AUTHOR, False, POLICY, WEDNESDAY_10)


def test_a_deployer_may_deploy_someone_elses_change():
    assert may_deploy(ready(), "UDEPLOYER", True, POLICY, WEDNESDAY_10)


def test_anyone_else_is_refused_before_the_gates_are_even_read():
    decision = may_deploy(ready(staging_verified=False), "UOTHER", False, POLICY, SATURDAY_10)
    assert not decision and decision.blockers == ()
    assert f"Only the author (<@{AUTHOR}>)" in decision.reason


def test_every_blocking_gate_is_returned_at_once():
    facts = ready(status=S.approved, staging_verified=False, security_required=True)
    decision = may_deploy(facts, AUTHOR, False, POLICY, SATURDAY_10)
    assert not decision
    assert [g.key for g in decision.blockers] == ["security_review", "staging",
                                                  "business_hours"]
    assert decision.reason == "3 gates are not met"
    assert all(g.how_to_open for g in decision.blockers)


@pytest.mark.parametrize("status", [S.monitoring, S.completed, S.rolled_back, S.cancelled])
def test_a_change_in_production_or_closed_is_not_deployed_again(status):
    decision = may_deploy(ready(status=status), AUTHOR, False, POLICY, WEDNESDAY_10)
    assert not decision and decision.blockers == ()
    assert "This change is" in decision.reason


def test_high_risk_changes_are_deployed_by_hand():
    assert needs_manual_deployment(ready(category=Category.high_risk))
    assert not needs_manual_deployment(ready(category=Category.normal, risk=Risk.high))


def test_staging_must_validate_functional_testing_and_no_breaking_changes():
    facts = ready(status=S.staging)
    assert check_staging_validation(facts, ["functional", "no_breaking_changes"])
    refused = check_staging_validation(facts, ["functional", "performance"])
    assert not refused and "no breaking changes" in refused.reason
    assert "security" not in refused.reason


def test_staging_must_validate_security_when_the_change_needs_a_security_review():
    facts = ready(status=S.staging, security_required=True)
    refused = check_staging_validation(facts, ["functional", "no_breaking_changes"])
    assert not refused and "security testing" in refused.reason


def test_only_a_change_in_staging_is_marked_verified_in_staging():
    assert may_verify_staging(ready(status=S.staging), AUTHOR, False)
    assert not may_verify_staging(ready(status=S.monitoring), AUTHOR, False)
    assert not may_verify_staging(ready(status=S.staging), "UOTHER", False)


def test_production_verification_waits_for_the_end_of_the_window():
    facts = ready(status=S.monitoring, deployed_at=WEDNESDAY_10)
    early = may_verify_production(facts, AUTHOR, False, POLICY, WEDNESDAY_10 +
                                  timedelta(minutes=29))
    assert not early and "Keep monitoring until" in early.reason
    assert may_verify_production(facts, AUTHOR, False, POLICY,
                                 WEDNESDAY_10 + timedelta(minutes=30))


def test_verification_needs_logs_metrics_and_functionality():
    assert check_verification(["logs", "metrics", "functionality"])
    refused = check_verification(["logs"])
    assert not refused
    assert "metrics" in refused.reason and "functionality" in refused.reason


def test_a_rollback_is_finished_once_by_whoever_may_roll_back():
    started = ready(status=S.rolled_back, rollback_started_at=WEDNESDAY_10)
    assert may_finish_rollback(started, AUTHOR, False)
    assert may_finish_rollback(started, "UDEPLOYER", True)
    assert not may_finish_rollback(started, "UOTHER", False)
    finished = replace(started, rollback_finished_at=WEDNESDAY_10 + timedelta(minutes=7))
    assert "already" in may_finish_rollback(finished, AUTHOR, False).reason
    assert rollback_duration(finished) == timedelta(minutes=7)
    assert not may_finish_rollback(ready(status=S.monitoring), AUTHOR, False)
