"""The exceptions an evidence record lists, rule by rule: pure, no database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from bot.evidence.pack import record_of
from bot.evidence.records import BROKEN, BYPASSED
from bot.evidence.render import named_rules
from bot.evidence.render_csv import CsvRenderer
from bot.evidence.render_markdown import markdown_change
from bot.evidence.summary import Summary
from bot.playground.standin.workspace import demo_policy
from bot.policy import Emergency, GitHubPolicy, Groups, Review
from storage.evidence_store import ChangeRows
from storage.models import Approval, AuditEvent, Change

ALICE, BOB, CAROL, DAVE, ERIN = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"
TUESDAY = datetime(2026, 11, 24, 9, tzinfo=UTC)  # 09:00, inside business hours
DEPLOYED = TUESDAY + timedelta(hours=4)  # 13:00
NOW = TUESDAY + timedelta(days=7)
POLICY = demo_policy()


def a_change(**columns) -> Change:
    """A normal change that followed the process, unless `columns` say otherwise."""
    values = dict(
        id=7, title="Tune the cache", description="Lower the TTL.", category="normal",
        risk="medium", rollback_plan="Revert.", testing="Load test.", author_id=ALICE,
        status="completed", revision=1, created_at=TUESDAY, updated_at=DEPLOYED,
        closed_at=DEPLOYED + timedelta(minutes=40), staging_deployed_at=TUESDAY,
        staging_verified_at=TUESDAY + timedelta(hours=1), deployed_at=DEPLOYED,
        deployed_by=ALICE, deploy_method="rolling",
        monitoring_ends_at=DEPLOYED + timedelta(minutes=30),
        verified_at=DEPLOYED + timedelta(minutes=40),
    )
    values.update(columns)
    return Change(**values)


def vote(who: str, minutes: int, *, kind: str = "peer", decision: str = "approved",
         tech_lead: bool = False, reason: str = "") -> Approval:
    return Approval(change_id=7, revision=1, kind=kind, decision=decision, actor=who,
                    user_id=who, tech_lead=tech_lead, reason=reason,
                    created_at=TUESDAY + timedelta(minutes=minutes))


def exceptions(change: Change, approvals=(), events=(), policy=POLICY) -> list[tuple]:
    record = record_of(ChangeRows(change, list(approvals), [], list(events)), policy, NOW)
    return [(e.rule, e.kind, e.detail) for e in record.exceptions]


def test_a_change_that_followed_the_process_has_no_exception():
    assert exceptions(a_change(), [vote(BOB, 30)]) == []


def test_an_approval_after_deployment_does_not_count_for_a_normal_change():
    assert exceptions(a_change(), [vote(BOB, 5 * 60)]) == [
        ("approvals", BROKEN, "deployed without 1 approval")]


def test_high_risk_needs_its_tech_lead_before_deployment():
    change = a_change(category="high_risk", risk="high", deploy_method="manual",
                      monitoring_ends_at=DEPLOYED + timedelta(hours=1),
                      verified_at=DEPLOYED + timedelta(hours=1, minutes=5))
    votes = [vote(BOB, 10), vote(CAROL, 20)]
    assert exceptions(change, votes) == [
        ("approvals", BROKEN, "deployed without 2 peer approvals and a tech lead")]
    two_people = POLICY.model_copy(update={"review": Review(tech_lead_counts_as_peer=True)})
    assert exceptions(change, [vote(BOB, 10)], policy=two_people) == [
        ("approvals", BROKEN, "deployed without 2 approvals, one of them from a tech lead")]
    assert exceptions(change, [*votes, vote(DAVE, 30, tech_lead=True)]) == []
    assert exceptions(a_change(category="high_risk", risk="high", deploy_method="automated",
                               monitoring_ends_at=DEPLOYED + timedelta(hours=1),
                               verified_at=DEPLOYED + timedelta(hours=1, minutes=5)),
                      [*votes, vote(DAVE, 30, tech_lead=True)]) == [
        ("manual_deployment", BROKEN, "high-risk change deployed automatically")]


def test_the_authors_own_approval_on_record_fails_segregation_of_duties():
    change = a_change()
    record = record_of(ChangeRows(change, [vote(ALICE, 10), vote(BOB, 20)], [], []), POLICY,
                       NOW)
    assert record.segregation.result == "fail"
    assert record.segregation.approvers == (BOB,)  # hers never counts
    assert [(e.rule, e.kind) for e in record.exceptions] == [
        ("segregation_of_duties", BROKEN)]


def test_a_security_review_is_checked_overridden_or_missing():
    triggered = {"security_required": True,
                 "security_triggers": [{"source": "keyword", "reason": "mentions “jwt”"}]}
    assert exceptions(a_change(**triggered), [vote(BOB, 10)]) == [
        ("security_review", BROKEN, "deployed without an approved security review")]
    assert exceptions(a_change(**triggered),
                      [vote(BOB, 10), vote(ERIN, 20, kind="security")]) == []
    assert exceptions(a_change(**triggered), [vote(BOB, 10), vote(ERIN, 6 * 60,
                                                                  kind="security")]) == [
        ("security_review", BROKEN, "deployed without an approved security review")]
    overridden = vote(DAVE, 20, kind="security", decision="overridden",
                      reason="Library bump only; reviewed by the vendor.")
    assert exceptions(a_change(**triggered), [vote(BOB, 10), overridden]) == [
        ("security_review", BYPASSED,
         "overridden by U0DAVE: Library bump only; reviewed by the vendor.")]


def test_a_security_approval_counts_as_a_peer_one_only_when_the_policy_says_so():
    security = vote(ERIN, 20, kind="security")
    assert exceptions(a_change(security_required=True), [security]) == [
        ("approvals", BROKEN, "deployed without 1 approval")]
    lenient = demo_policy(review=Review(security_counts_as_peer=True))
    record = record_of(ChangeRows(a_change(security_required=True), [security], [], []),
                       lenient, NOW)
    assert record.exceptions == () and record.approvals[0].counted


def test_ci_must_be_green_when_a_pull_request_is_linked():
    linked = {"pr_url": "https://github.com/acme/api/pull/3", "head_sha": "abc123"}
    assert exceptions(a_change(**linked, ci_state="success"), [vote(BOB, 10)]) == []
    assert exceptions(a_change(**linked, ci_state="pending"), [vote(BOB, 10)]) == [
        ("ci", BROKEN, "deployed with CI still running at abc123")]
    assert exceptions(a_change(ci_state="failure"), [vote(BOB, 10)]) == []  # no PR
    # Why CI was unknown, as recorded when GitHub could not be read.
    assert exceptions(a_change(**linked, ci_state="unknown", ci_detail={
        "problem": "GitHub is not connected (no GITHUB_TOKEN)"}), [vote(BOB, 10)]) == [
        ("ci", BROKEN, "deployed with CI unknown (GitHub is not connected (no GITHUB_TOKEN)) "
                       "at abc123")]
    assert exceptions(a_change(**linked, ci_state="unknown"), [vote(BOB, 10)]) == [
        ("ci", BROKEN, "deployed with CI unknown (GitHub unreachable) at abc123")]


def test_verification_is_late_missing_or_overdue():
    assert exceptions(a_change(verified_at=None), [vote(BOB, 10)]) == [
        ("verification", BROKEN, "completed without a verification")]
    monitoring = a_change(status="monitoring", verified_at=None, closed_at=None)
    assert exceptions(monitoring, [vote(BOB, 10)]) == [
        ("verification", BROKEN, "not verified; the monitoring window ended "
                                 "2026-11-24 13:30 UTC")]
    assert exceptions(a_change(verified_at=DEPLOYED + timedelta(minutes=60)),
                      [vote(BOB, 10)]) == []  # the window's end plus the 30 min grace


def an_emergency() -> Change:
    """Deployed at 05:00 the next day, in production, not approved."""
    return a_change(category="emergency", staging_verified_at=None, staging_deployed_at=None,
                    deployed_at=TUESDAY + timedelta(hours=20), monitoring_ends_at=None,
                    verified_at=None, status="monitoring", closed_at=None)


def test_an_emergency_is_pending_then_broken_without_its_approval_and_retrospective():
    emergency = an_emergency()
    deployed = emergency.deployed_at
    record = record_of(ChangeRows(emergency, [], [], []), POLICY,
                       deployed + timedelta(hours=1))
    # Within the policy's delays: open items, not yet exceptions (emergency rules apply).
    assert [(e.rule, e.kind) for e in record.exceptions] == [
        ("staging", BYPASSED), ("business_hours", BYPASSED)]
    assert record.emergency.retrospective == "not due yet"
    late = record_of(ChangeRows(emergency, [], [], []), POLICY, deployed + timedelta(days=2))
    assert [(e.rule, e.kind, e.detail) for e in late.exceptions
            if e.rule in ("approvals", "retrospective")] == [
        ("approvals", BROKEN, "emergency change still not approved 48 h after deployment "
                              "(1 approval needed)"),
        ("retrospective", BROKEN, "retrospective overdue since 2026-11-26 05:00 UTC"),
    ]


def test_an_emergency_deployed_with_ci_red_bypassed_ci_only_if_the_policy_lets_it():
    emergency = a_change(category="emergency", staging_verified_at=None,
                         pr_url="https://github.com/acme/api/pull/3",
                         ci_state="failure", head_sha="abc123",
                         ci_detail={"failing": [{"name": "unit-tests", "url": None}]})
    strict = [e for e in exceptions(emergency, [vote(BOB, 10)]) if e[0] == "ci"]
    assert strict == [("ci", BROKEN, "deployed with CI failing (unit-tests) at abc123")]
    lenient = demo_policy(emergency=Emergency(require_ci=False))
    assert [e for e in exceptions(emergency, [vote(BOB, 10)], policy=lenient)
            if e[0] == "ci"] == [("ci", BYPASSED, "deployed with CI failing (unit-tests) at "
                                                  "abc123 under the emergency process")]


def test_recorded_gate_exceptions_merge_with_the_computed_ones():
    change = a_change(staging_verified_at=None, deploy_exceptions=[
        "staging: no staging environment for this service", "ci",
        "approvals: approved by the on-call lead by phone",
        "status: deployed while the change was approved",
        "Business hours: outside business hours",  # as recorded before keys were used
        "deployed during a freeze"])
    assert exceptions(change, [vote(BOB, 10)]) == [
        ("staging", BROKEN, "deployed without validation in staging"),  # once, as found
        ("ci", BROKEN, "gate closed at deployment"),
        ("approvals", BROKEN, "approved by the on-call lead by phone"),
        ("status", BROKEN, "deployed while the change was approved"),
        ("business_hours", BROKEN, "outside business hours"),
        ("recorded", BROKEN, "deployed during a freeze"),
    ]


def test_a_cancelled_change_that_github_deployed_lists_it_though_not_deployed():
    change = a_change(status="cancelled", staging_verified_at=None, deployed_at=None,
                      deployed_by=None, deploy_method=None, monitoring_ends_at=None,
                      verified_at=None, deploy_exceptions=[
                          "status: deployed by GitHub after the change was cancelled"])
    record = record_of(ChangeRows(change, [], [], []), POLICY, NOW)
    assert record.deployment is None
    assert [(e.rule, e.kind, e.detail, e.label) for e in record.exceptions] == [
        ("status", BROKEN, "deployed by GitHub after the change was cancelled",
         "Change status")]


def test_gates_closed_at_deployment_in_the_deploy_event_count_once_per_rule():
    deployed = AuditEvent(id=3, change_id=7, at=DEPLOYED, actor=ALICE,
                          action="deployed_to_production", prev_hash="0", hash="1",
                          detail={"method": "rolling", "gates": {
                              "ci": "not_required", "approvals": "met", "staging": "pending",
                              "business_hours": "failed", "security_review": "bypassed"}})
    change = a_change(staging_verified_at=None)
    assert exceptions(change, [vote(BOB, 10)], [deployed]) == [
        ("staging", BROKEN, "deployed without validation in staging"),
        ("business_hours", BROKEN, "the gate was failed when it was deployed"),
    ]


def test_user_text_cannot_break_the_markdown_or_run_in_a_spreadsheet():
    change = a_change(title="<b>Bold</b> | pipes", description="=HYPERLINK(\"http://x\")",
                      testing="line one\n## not a heading")
    record = record_of(ChangeRows(change, [vote(BOB, 10)], [],
                                  [AuditEvent(id=1, change_id=7, at=TUESDAY, actor=ALICE,
                                              action="proposed", detail={}, prev_hash="0",
                                              hash="f" * 64)]), POLICY, NOW)
    text = markdown_change(record)
    assert "### CHG-7 · &lt;b&gt;Bold&lt;/b&gt; | pipes" in text
    assert "- **Testing performed**: line one\n  ## not a heading" in text
    renderer, out = CsvRenderer(head="h" * 64), io.StringIO()
    try:
        renderer.change(record)
        renderer.finish(out, None, Summary(), [], {})  # a CSV has no header beyond its columns
    finally:
        renderer.close()
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["description"] == "'=HYPERLINK(\"http://x\")"
    assert row["title"] == "<b>Bold</b> | pipes"


def event(action: str, at: datetime, **detail) -> AuditEvent:
    return AuditEvent(change_id=7, at=at, actor="changebot", action=action, detail=detail)


def test_a_rollback_over_the_target_duration_is_broken():
    def rolled_back(minutes: int | None) -> Change:
        started = DEPLOYED + timedelta(minutes=20)
        return a_change(status="rolled_back", verified_at=None, rollback_started_at=started,
                        rollback_finished_at=(started + timedelta(minutes=minutes)
                                              if minutes is not None else None),
                        rollback={"trigger": "errors", "method": "previous_image",
                                  "by": ALICE})
    assert exceptions(rolled_back(12), [vote(BOB, 10)]) == []
    assert exceptions(rolled_back(45), [vote(BOB, 10)]) == [
        ("rollback", BROKEN, "rollback took 45 min, over the 30 min target")]
    assert exceptions(rolled_back(None), [vote(BOB, 10)]) == [
        ("rollback", BROKEN, "rollback still not finished 163 h 40 min after it started, "
                             "over the 30 min target")]


def test_a_watch_that_ended_unverified_is_broken_though_rolled_back_later():
    ends = DEPLOYED + timedelta(minutes=30)
    later = ends + timedelta(hours=2)
    change = a_change(status="rolled_back", verified_at=None, rollback_started_at=later,
                      rollback_finished_at=later + timedelta(minutes=5),
                      watch={"by": ALICE, "until": ends.isoformat()})
    assert exceptions(change, [vote(BOB, 10)]) == [
        ("verification", BROKEN, "the watch ended 2026-11-24 13:30 UTC with no verification "
                                 "(U0ALICE was on watch); rolled back 2 h later")]
    # Rolled back inside the window (or its grace): the rollback was the verdict.
    early = ends + timedelta(minutes=10)
    assert exceptions(a_change(status="rolled_back", verified_at=None,
                               rollback_started_at=early, rollback_finished_at=early),
                      [vote(BOB, 10)]) == []


def test_an_emergency_follow_up_chased_again_and_again_says_how_often_and_how_late():
    emergency = an_emergency()
    deployed = emergency.deployed_at
    due = deployed + timedelta(hours=24)
    chased = [event("approval_missing_reminded", deployed + timedelta(hours=h), round=r)
              for r, h in ((1, 4), (2, 28), (3, 52))]
    chased += [event("retrospective_overdue", due + timedelta(hours=h), round=r)
               for r, h in ((1, 0), (2, 24))]
    record = record_of(ChangeRows(emergency, [], [], chased), POLICY,
                       deployed + timedelta(days=3))
    assert [(e.rule, e.kind, e.detail) for e in record.exceptions
            if e.rule in ("approvals", "retrospective")] == [
        ("approvals", BROKEN, "emergency change still not approved 72 h after deployment "
                              "(1 approval needed), after 3 escalations to the tech leads "
                              "(the last 52 h after deployment)"),
        ("retrospective", BROKEN, "retrospective overdue since 2026-11-26 05:00 UTC, after 2 "
                                  "escalations to the tech leads (the last 24 h after it was "
                                  "due)"),
    ]


def test_the_pack_states_the_approvals_the_process_asks_for_by_name():
    policy = demo_policy(groups=Groups(security="S0SECURITY", tech_leads="S0TECHLEADS",
                                       infrastructure="S0INFRA"),
                         github=GitHubPolicy(use_codeowners=True))
    change = a_change(security_checkboxes=["infra"], pr_url="https://github.com/acme/api/pull/3",
                      ci_state="success", head_sha="abc123",
                      pr_info={"files": ["app/orders.py"], "codeowners": {
                          "source": "CODEOWNERS", "groups": [{
                              "pattern": "/app/", "owners": ["@carol-gh"],
                              "files": ["app/orders.py"], "approvers": ["U0CAROL", "carol-gh"]}]}})
    infra = vote(CAROL, 20)
    infra.infrastructure = True
    record = record_of(ChangeRows(change, [vote(BOB, 10), infra], [], []), policy, NOW)
    text = markdown_change(record)
    assert "of 1 approval required" in text
    assert "- **Infrastructure team**: approved by U0CAROL (the infrastructure checkbox)\n" in text
    assert "- **Code owners**: approved by U0CAROL for `/app/`\n" in text
    assert named_rules(policy) == [
        "Infrastructure changes (the checkbox; paths terraform/**, **/*.tf, k8s/**, helm/**) "
        "also need an approval from the infrastructure team (S0INFRA).",
        "Code owners: the repository's CODEOWNERS names whose approval each changed file "
        "needs — one approval from an owner of each owned path."]
