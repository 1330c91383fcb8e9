"""The pure rules of who is still awaited and who may bypass a security review."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.change.facts import ChangeFacts, Vote
from bot.change.states import Category, Risk, Status
from bot.policy import Policy
from bot.review.rules import awaits_peer_review
from bot.security.rules import awaits_security_review, may_override_security

POLICY = Policy()
AUTHOR = "UAUTHOR"
S = Status


def facts(**changes) -> ChangeFacts:
    base = ChangeFacts(category=Category.normal, risk=Risk.low, status=S.in_review,
                       author=AUTHOR, security_required=True)
    return replace(base, **changes)


def vote(user: str) -> Vote:
    return Vote(user=user, at=datetime(2026, 11, 25, 10, tzinfo=UTC))


# --- the security review waits --------------------------------------------------------


def test_a_triggered_undecided_review_waits():
    assert awaits_security_review(facts())


@pytest.mark.parametrize("decided", [
    {"security_required": False},
    {"security_approved_by": "USEC"},
    {"security_changes_requested": True},
    {"security_override_by": "ULEAD"},
    {"status": S.rejected},
    {"status": S.cancelled},
    {"status": S.monitoring},
])
def test_a_decided_or_closed_review_does_not_wait(decided):
    assert not awaits_security_review(facts(**decided))


def test_an_emergency_review_waits_after_deployment():
    assert awaits_security_review(facts(category=Category.emergency, status=S.monitoring))


# --- override ---------------------------------------------------------------------------


def test_a_tech_lead_may_override_a_pending_review():
    assert may_override_security(facts(), "ULEAD", True).allowed


def test_only_tech_leads_override():
    decision = may_override_security(facts(), "UDEV", False)
    assert not decision.allowed and "Only tech leads" in decision.reason


def test_nobody_overrides_the_review_of_their_own_change():
    decision = may_override_security(facts(), AUTHOR, True)
    assert not decision.allowed and "your own change" in decision.reason


@pytest.mark.parametrize(("state", "words"), [
    ({"security_required": False}, "does not need a security review"),
    ({"security_override_by": "ULEAD2"}, "already overridden by <@ULEAD2>"),
    ({"security_approved_by": "USEC"}, "approved by <@USEC>"),
    ({"security_changes_requested": True}, "can't dismiss them"),
    ({"status": S.completed}, "can no longer be decided"),
])
def test_an_override_needs_a_pending_review(state, words):
    decision = may_override_security(facts(**state), "ULEAD", True)
    assert not decision.allowed and words in decision.reason


# --- a requested reviewer is awaited ------------------------------------------------------


def test_a_reviewer_is_awaited_until_they_answer():
    assert awaits_peer_review(facts(), POLICY, "UREV")
    assert not awaits_peer_review(facts(approvals=(vote("UREV"),)), POLICY, "UREV")


def test_nobody_is_awaited_once_the_approvals_are_met():
    met = facts(risk=Risk.high, approvals=(vote("U1"), vote("U2")), status=S.approved)
    assert not awaits_peer_review(met, POLICY, "UREV")


def test_one_more_approval_still_awaits_the_other_reviewer():
    one_of_two = facts(risk=Risk.high, approvals=(vote("U1"),))
    assert awaits_peer_review(one_of_two, POLICY, "UREV")


@pytest.mark.parametrize("status", [S.rejected, S.cancelled, S.completed])
def test_a_change_that_moved_on_awaits_nobody(status):
    assert not awaits_peer_review(facts(status=status), POLICY, "UREV")
