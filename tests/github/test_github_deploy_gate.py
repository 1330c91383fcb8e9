"""The deploy gate, end to end: GitHub's deployment_protection_rule webhook (built from the
octokit schema) into the bot served as a GitHub App, answered through PyGithub's requester to
the fake GitHub's protection-rule endpoint, which keeps GitHub's rules (a decision once, 10
status reports, the App's token only)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from storage.models import DeployGate
from tests.flows import card_text, click, propose, staged, thread
from tests.github.gates_harness import (
    RUN_ID,
    answers,
    protection_rule,
)
from tests.github_flows import (
    BEFORE,
    HEAD,
    OWNER,
    PR_URL,
    REPO,
    audit_actions,
    audit_events,
    change_row,
    example,
    pending,
    webhook,
)


@pytest.fixture
def github(app_fake):
    return app_fake


@pytest.fixture
def bot(app_bot):
    return app_bot


async def test_a_waiting_job_is_approved_as_soon_as_the_last_gate_opens(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()  # the pull request is read: CI green on its head
    reply = await webhook(bot, "deployment_protection_rule", protection_rule())
    assert reply.status == 200, reply.text

    [report] = answers(github)
    assert report.get("state") is None and report["environment_name"] == "production"
    assert "CHG-1 is not cleared yet" in report["comment"]
    assert "Approvals: 0 of 1 approval" in report["comment"]
    assert "Staging" in report["comment"]
    assert any(f"GitHub Actions is waiting to deploy CHG-{change_id} to production" in t
               and f"run {RUN_ID}" in t for t in thread(bot, change_id))

    assert "GitHub Actions is waiting to deploy to production (<https://github.com/" \
           in card_text(bot, change_id)

    await click(bot, "bob", "change_approve", change_id)  # a real change: a new report
    assert len(answers(github)) == 2
    assert "Approvals" not in answers(github)[-1]["comment"]

    await staged(bot, change_id)  # the last gate: no sweep, no time moved
    final = answers(github)[-1]
    assert final["state"] == "approved"
    assert "CHG-1 is cleared by Changebot" in final["comment"]
    assert [a.get("state") for a in answers(github)].count("approved") == 1
    assert any("GitHub Actions may deploy CHG-1 to production" in t
               for t in thread(bot, change_id))
    assert "deployment to production (<" in card_text(bot, change_id)
    assert "was approved by Changebot" in card_text(bot, change_id)
    actions = await audit_actions(bot, change_id)
    assert actions.count("deploy_gate_requested") == 1
    assert actions.count("deploy_gate_waiting") == 2
    assert actions.count("deploy_gate_approved") == 1

    # Every later change of state finds nothing waiting: nothing more is sent.
    bot.clock.advance(timedelta(minutes=5))
    await bot.sweep()
    assert len(answers(github)) == 3


async def test_a_rejected_change_has_its_job_rejected(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await webhook(bot, "deployment_protection_rule", protection_rule())
    await click(bot, "bob", "change_reject", change_id)
    await bot.submit("bob", bot.slack.opened_views()[-1], {"reason": "No load test."})
    await bot.settle()
    final = answers(github)[-1]
    assert final["state"] == "rejected"
    assert "CHG-1 was rejected" in final["comment"]
    assert [e.detail["run_id"] for e in await audit_events(bot, "deploy_gate_rejected")] == [
        RUN_ID]


async def test_a_commit_other_than_the_approved_one_is_rejected(bot, github):
    await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await webhook(bot, "deployment_protection_rule", protection_rule(sha=HEAD))
    [final] = answers(github)
    assert final["state"] == "rejected"
    assert f"commit {HEAD[:7]} is not the one its approvals are for" in final["comment"]


async def test_an_approval_lost_to_a_github_outage_is_retried_and_sent_once(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)
    await webhook(bot, "deployment_protection_rule", protection_rule())
    github.fail_protection_rule(502, times=2)
    await staged(bot, change_id)
    assert [a.get("state") for a in answers(github)] == [None]  # failed: nothing recorded
    for _ in range(3):  # the sweeper's backoff: 15 s, then 30 s
        bot.clock.advance(timedelta(seconds=31))
        await bot.sweep()
    assert [a.get("state") for a in answers(github)] == [None, "approved"]
    async with bot.ctx.db.session() as session:
        [gate] = (await session.exec(select(DeployGate))).all()
    assert gate.state == "approved"


async def test_an_approval_github_took_before_the_answer_was_lost_is_not_sent_twice(
        bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)
    await webhook(bot, "deployment_protection_rule", protection_rule())
    github.fail_protection_rule(502, taken=True)  # GitHub has it; we heard a 502
    await staged(bot, change_id)
    bot.clock.advance(timedelta(seconds=16))
    await bot.sweep()  # the retry is told it was answered already: done
    assert [a.get("state") for a in answers(github)] == [None, "approved"]
    assert await pending(bot, "github_gate_answer") == []


async def test_a_redelivered_request_is_answered_once(bot, github):
    await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    payload = protection_rule(sha=HEAD)
    await webhook(bot, "deployment_protection_rule", payload, delivery="d-1")
    await webhook(bot, "deployment_protection_rule", payload, delivery="d-2")
    assert [a.get("state") for a in answers(github)] == ["rejected"]


async def test_another_environment_is_approved_at_once(bot, github):
    await webhook(bot, "deployment_protection_rule", protection_rule(environment="staging"))
    [answer] = answers(github)
    assert answer["state"] == "approved"
    assert answer["environment_name"] == "staging"
    assert "not a production environment" in answer["comment"]


async def test_no_change_for_the_commit_is_rejected_by_default(bot, github):
    await propose(bot, pr_url=PR_URL)  # the repository is known
    await bot.sweep()
    payload = protection_rule(sha="0" * 40, run_id=99)
    payload["pull_requests"] = []  # a push to main that no pull request brought
    await webhook(bot, "deployment_protection_rule", payload)
    [answer] = answers(github, 99)
    assert answer["state"] == "rejected"
    assert "No change record links commit 0000000" in answer["comment"]
    # rejected once GitHub confirmed that no pull request has this commit
    assert ("GET", f"/repos/{OWNER}/{REPO}/commits/{'0' * 40}/pulls") in github.requests


@pytest.mark.parametrize("kind", ["unknown repository", "no installation",
                                  "another installation"])
async def test_an_unknown_installation_or_repository_is_accepted_and_left_alone(
        bot, github, kind):
    await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    payload = {"unknown repository": protection_rule(repo="someone/else"),
               "no installation": protection_rule(installation=None),
               "another installation": protection_rule(installation=999)}[kind]
    reply = await webhook(bot, "deployment_protection_rule", payload)
    assert reply.status == 202, reply.text
    assert "nothing decided" in reply.text
    assert github.protection_answers == {}
    assert "deploy_gate_requested" not in await audit_actions(bot)


async def test_status_reports_stop_at_githubs_limit(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await webhook(bot, "deployment_protection_rule", protection_rule())
    async with bot.ctx.db.session() as session:
        gate = (await session.exec(select(DeployGate))).one()
        gate.reports = 10  # as if ten reports had gone out
        session.add(gate)
    await click(bot, "bob", "change_approve", change_id)  # would be worth a report
    assert len(answers(github)) == 1
    await staged(bot, change_id)  # the decision is not a report: it still goes out
    assert answers(github)[-1]["state"] == "approved"


MERGE = "5d9a8c2e1f0b7a6c3d4e5f60718293a4b5c6d7e8"  # the pull request's merge commit


def push_to_main(sha: str, run_id: int) -> dict:
    payload = protection_rule(sha=sha, run_id=run_id)
    payload["pull_requests"] = []  # the workflow of a push to main names no pull request
    return payload


async def test_a_job_for_a_merge_not_yet_reported_waits_for_it_and_is_then_approved(
        bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)
    await staged(bot, change_id)
    github.merge(OWNER, REPO, 2, MERGE)  # merged on GitHub; its webhook not here yet
    reply = await webhook(bot, "deployment_protection_rule", push_to_main(MERGE, 31))
    assert reply.status == 200, reply.text

    # GitHub names the pull request of the commit: not rejected, but waiting for it, and the
    # pull request is read again; its merge matches the job, which is approved.
    first, final = answers(github, 31)
    assert first.get("state") is None
    assert f"waiting for the pull request of {MERGE[:7]} (#2)" in first["comment"]
    assert ("GET", f"/repos/{OWNER}/{REPO}/commits/{MERGE}/pulls") in github.requests
    assert final["state"] == "approved"
    assert "CHG-1 is cleared by Changebot" in final["comment"]
    assert (await change_row(bot, change_id)).merge_sha == MERGE
    assert (await audit_actions(bot, change_id)).count("deploy_gate_requested") == 1


async def test_a_lookup_github_failed_is_tried_again_and_answered_once(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)
    await staged(bot, change_id)
    github.merge(OWNER, REPO, 2, MERGE)
    github.fail(502)
    await webhook(bot, "deployment_protection_rule", push_to_main(MERGE, 32))
    assert answers(github, 32) == []  # nothing decided while GitHub cannot say
    assert len(await pending(bot, "github_gate_lookup")) == 1
    bot.clock.advance(timedelta(seconds=16))
    await bot.sweep()
    assert [a.get("state") for a in answers(github, 32)] == [None, "approved"]



async def test_a_push_from_an_installation_not_serving_the_repository_changes_nothing(
        bot, github, caplog):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)
    payload = example("pull_request/synchronize")
    payload["installation"]["id"] = 999  # GitHub says installation 1 serves the repository
    reply = await webhook(bot, "pull_request", payload)
    assert reply.status == 202, reply.text
    assert "installation 999 is not the one serving" in reply.text
    assert "installation 999" in caplog.text
    change = await change_row(bot, change_id)
    assert (change.head_sha, change.status) == (BEFORE, "approved")
    assert ("GET", f"/repos/{OWNER}/{REPO}/installation") in github.requests
