"""The pure rules the GitHub integration adds to the lifecycle: who links a PR, when a push
resets approvals, what a deployment reported by GitHub skipped, why CI is unknown."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.change.facts import ChangeFacts, Vote
from bot.change.gates import ci_gate
from bot.change.states import Category, GateState, Risk, Status
from bot.deployment.rules import (
    closed_change_deployed,
    deploy_exception,
    deployment_exceptions,
    describe_deploy_exception,
    parse_deploy_exception,
)
from bot.policy import GitHubPolicy, Policy
from bot.review.rules import may_link_pr, push_resets_approvals, status_after_withdrawal

POLICY = Policy()
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def facts(**changes) -> ChangeFacts:
    base = ChangeFacts(category=Category.normal, risk=Risk.low, status=Status.in_review,
                       author="UAUTHOR", pr_linked=True, ci_state="success")
    return replace(base, **changes)


def test_only_the_author_links_a_pr_while_the_change_is_open() -> None:
    assert may_link_pr(facts(), "UAUTHOR")
    assert "Only the author" in may_link_pr(facts(), "UOTHER").reason
    assert may_link_pr(facts(status=Status.monitoring), "UAUTHOR")
    assert "cancelled" in may_link_pr(facts(status=Status.cancelled), "UAUTHOR").reason


@pytest.mark.parametrize(("status", "resets"), [
    (Status.proposed, True), (Status.in_review, True), (Status.approved, True),
    (Status.staging, True), (Status.ready, True), (Status.rejected, False),
    (Status.deploying, False), (Status.monitoring, False), (Status.completed, False),
])
def test_a_push_resets_approvals_before_production_only(status: Status, resets: bool) -> None:
    assert push_resets_approvals(facts(status=status), POLICY) is resets
    off = Policy(github=GitHubPolicy(reset_approvals_on_push=False))
    assert push_resets_approvals(facts(status=status), off) is False


def test_ci_unknown_says_why() -> None:
    outage = ci_gate(facts(ci_state="unknown"), POLICY, WEDNESDAY_10)
    assert (outage.state, outage.detail) == (GateState.unknown, "unknown — GitHub unreachable")
    unreadable = ci_gate(facts(ci_state="unknown", ci_problem="the pull request cannot be read"),
                         POLICY, WEDNESDAY_10)
    assert unreadable.detail == "unknown — the pull request cannot be read"
    assert unreadable.how_to_open


def test_a_deployment_in_order_has_no_exceptions() -> None:
    ready = facts(status=Status.ready, staging_verified=True,
                  approvals=(Vote("UREV", WEDNESDAY_10),))
    assert deployment_exceptions(ready, POLICY, WEDNESDAY_10) == []
    # Started through the bot: its gates were checked when the deploy began.
    assert deployment_exceptions(facts(status=Status.deploying), POLICY, SATURDAY_10) == []


def test_a_deployment_that_skipped_the_process_lists_what_it_skipped() -> None:
    found = deployment_exceptions(facts(ci_state="failure", ci_failing=("unit",)), POLICY,
                                  SATURDAY_10)
    # Recorded as "<rule key>: <why>": the evidence pack reads the key, people the label.
    assert found == [
        "status: deployed while the change was in review, not ready for production",
        "ci: failing: unit",
        "approvals: 0 of 1 approval",
        "staging: not validated in staging yet",
        "business_hours: outside business hours (Mon–Fri 09:00–17:00 UTC)",
    ]
    assert [describe_deploy_exception(e) for e in found] == [
        "deployed while the change was in review, not ready for production",
        "CI: failing: unit",
        "Approvals: 0 of 1 approval",
        "Staging: not validated in staging yet",
        "Business hours: outside business hours (Mon–Fri 09:00–17:00 UTC)",
    ]
    assert [parse_deploy_exception(e)[0] for e in found] == [
        "status", "ci", "approvals", "staging", "business_hours"]


def test_a_recorded_deploy_exception_is_read_by_key_or_by_its_older_label() -> None:
    assert parse_deploy_exception("business_hours") == ("business_hours", "")
    assert parse_deploy_exception("CI: failing: unit") == ("ci", "failing: unit")
    assert parse_deploy_exception("deployed during a freeze") == (
        None, "deployed during a freeze")
    assert describe_deploy_exception("staging") == "Staging"
    assert closed_change_deployed(facts(status=Status.cancelled)) == (
        "status: deployed by GitHub after the change was cancelled")
    with pytest.raises(ValueError, match="not a gate key"):
        deploy_exception("blackout", "deployed during a blackout")


def test_an_emergency_may_deploy_before_approval() -> None:
    emergency = facts(category=Category.emergency, status=Status.in_review)
    assert deployment_exceptions(emergency, POLICY, SATURDAY_10) == []
    red = replace(emergency, ci_state="pending")  # CI still holds an emergency (policy)
    assert deployment_exceptions(red, POLICY, SATURDAY_10) == ["ci: checks running"]


def test_a_withdrawn_approval_sends_the_change_back_to_review_when_short() -> None:
    approved = facts(status=Status.approved)
    assert status_after_withdrawal(approved, POLICY) == Status.in_review
    still = replace(approved, approvals=(Vote("UREV", WEDNESDAY_10),))
    assert status_after_withdrawal(still, POLICY) == Status.approved
    deployed = facts(status=Status.monitoring)
    assert status_after_withdrawal(deployed, POLICY) == Status.monitoring
