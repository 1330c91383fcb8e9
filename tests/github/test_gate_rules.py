"""The merge gate and the deploy gate as pure rules: a policy, facts and a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.change.facts import ChangeFacts, Vote
from bot.change.states import Category, Risk, Status
from bot.github.gate_rules import deploy_answer, merge_gate, no_change_gate, plain
from bot.policy import GitHubPolicy, Policy

WEDNESDAY_10AM = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
WEDNESDAY_8PM = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
SHA, OTHER = "a" * 40, "b" * 40
POLICY = Policy()


def facts(**changes) -> ChangeFacts:
    base = ChangeFacts(category=Category.normal, risk=Risk.low, status=Status.in_review,
                       author="U0ALICE", pr_linked=True, ci_state="success")
    return replace(base, **changes)


def approved(**changes) -> ChangeFacts:
    return facts(status=Status.ready, approvals=(Vote("U0BOB", WEDNESDAY_10AM),),
                 staging_verified=True, **changes)


def answer(f: ChangeFacts, now: datetime = WEDNESDAY_10AM, sha: str = SHA):
    return deploy_answer(f, POLICY, now, cid="CHG-12", sha=sha, head_sha=SHA, merge_sha=None,
                         approvers=["bob-gh"])


def test_the_merge_gate_waits_for_approvals_and_the_security_review() -> None:
    gate = merge_gate(facts(security_required=True), POLICY, WEDNESDAY_10AM, "CHG-12")
    assert (gate.state, gate.text) == ("pending",
                                       "CHG-12: 0 of 1 approval; security review waiting")
    gate = merge_gate(facts(approvals=(Vote("U0BOB", WEDNESDAY_10AM),)), POLICY,
                      WEDNESDAY_10AM, "CHG-12")
    assert gate.state == "success"  # staging and business hours are the deploy gate's
    assert merge_gate(facts(status=Status.cancelled), POLICY, WEDNESDAY_10AM,
                      "CHG-12").state == "failure"
    assert merge_gate(facts(security_required=True, security_changes_requested=True), POLICY,
                      WEDNESDAY_10AM, "CHG-12").state == "failure"


def test_a_pull_request_without_a_change_is_neutral_or_pending_by_policy() -> None:
    assert no_change_gate(POLICY).state == "neutral"
    strict = Policy(github=GitHubPolicy(merge_without_change="pending"))
    assert no_change_gate(strict).state == "pending"


def test_every_gate_met_for_the_commit_approves_naming_the_approvals() -> None:
    got = answer(approved())
    assert got.state == "approved"
    assert "CHG-12 is cleared by Changebot (change; approved by bob-gh)" in got.comment


def test_what_is_missing_is_reported_and_the_job_keeps_waiting() -> None:
    got = answer(facts())
    assert got.state is None
    assert got.comment.startswith("CHG-12 is not cleared yet — Approvals: 0 of 1 approval")


def test_outside_business_hours_the_gate_is_checked_again_at_the_opening() -> None:
    got = answer(approved(), WEDNESDAY_8PM)
    assert got.state is None and "Business hours" in got.comment
    assert got.recheck_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_another_commit_or_a_closed_change_is_rejected() -> None:
    assert answer(approved(), sha=OTHER).state == "rejected"
    for status in (Status.rejected, Status.cancelled, Status.rolled_back):
        got = answer(replace(approved(), status=status))
        assert (got.state, status.value.replace("_", " ") in got.comment) == ("rejected", True)


def test_an_emergency_is_approved_at_once_with_each_bypass_on_record() -> None:
    got = answer(facts(category=Category.emergency, status=Status.proposed), WEDNESDAY_8PM)
    assert got.state == "approved"
    assert got.bypassed == ("approvals",)
    assert "Emergency change: approvals may follow the deployment" in got.comment


def test_comments_carry_no_slack_markup_and_fit_githubs_limit() -> None:
    assert plain("rejected by <@U0BOB>, see <https://x/y|the card>") == (
        "rejected by @U0BOB, see the card")
    long = answer(facts(ci_state="failure", ci_failing=tuple(f"check-{i}" * 20
                                                             for i in range(40))))
    assert len(long.comment) <= 1024


def test_a_declared_freeze_holds_the_job_and_it_is_checked_again_when_it_thaws() -> None:
    from datetime import timedelta

    from bot.schedule.freeze import Freeze

    thaw = WEDNESDAY_10AM + timedelta(hours=2)
    frozen = approved(freezes=(Freeze("FRZ-1", "release of the app store build",
                                      WEDNESDAY_10AM - timedelta(hours=1), thaw,
                                      source="declared", freeze_id=1),))
    got = answer(frozen)
    assert got.state is None and "Freeze" in got.comment
    assert got.recheck_at == thaw
    assert answer(frozen, thaw).state == "approved"
