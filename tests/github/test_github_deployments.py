"""Production deployments reported by GitHub (`deployment_status` webhooks, real example
payload): the change's deploy is recorded, gates closed are flagged, strangers announced."""

from datetime import timedelta

import pytest

from bot.change.audit_actions import DEPLOYED_TO_PRODUCTION
from bot.playground.standin.workspace import CHANGES
from storage.models import UserLink
from tests.fake_github import FakeGitHub
from tests.flows import (
    PRODUCTION_CHECKS,
    cancel,
    card_text,
    click,
    click_dm,
    fill,
    propose,
    thread,
)
from tests.github_flows import (
    BEFORE,
    OWNER,
    PR_URL,
    REPO,
    TOKEN,
    add_example_pull,
    audit_events,
    change_row,
    deployments,
    example,
    webhook,
)


@pytest.fixture
async def github():
    async with FakeGitHub(token=TOKEN) as fake:
        add_example_pull(fake)  # its head is BEFORE, the example deployment's commit
        fake.add_check_run(OWNER, REPO, BEFORE, "build")
        yield fake


async def make_ready(bot, change_id: int) -> None:
    """Staging belongs to another step of the process: set its outcome directly."""
    async with bot.ctx.db.session() as session:
        change = await session.get(type(await change_row(bot, change_id)), change_id)
        change.status = "ready"
        change.staging_verified_at = bot.clock.now() - timedelta(hours=1)
        session.add(change)


async def test_a_production_deployment_of_a_ready_change_starts_monitoring(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await click(bot, "bob", "change_approve", change_id)
    await make_ready(bot, change_id)
    async with bot.ctx.db.session() as session:
        session.add(UserLink(github_login="codertocat", slack_user_id="U0DAVE",
                             linked_by="command", created_at=bot.clock.now()))
    reply = await webhook(bot, "deployment_status", example("deployment_status"))
    assert reply.status == 200, reply.text

    change = await change_row(bot, change_id)
    assert change.status == "monitoring"
    assert (change.deployed_at, change.deployed_by, change.deploy_method) == (
        bot.clock.now(), "U0DAVE", "automated")
    assert change.monitoring_ends_at == bot.clock.now() + timedelta(minutes=30)
    assert change.deploy_exceptions == []
    [row] = await deployments(bot)
    assert (row.github_deployment_id, row.change_id, row.sha, row.environment, row.creator) == (
        145988746, change_id, BEFORE, "production", "Codertocat")
    [event] = await audit_events(bot, DEPLOYED_TO_PRODUCTION)
    assert event.detail["method"] == "automated" and event.actor == "U0DAVE"
    assert await audit_events(bot, "deployed_with_gates_closed") == []
    text = card_text(bot, change_id)
    assert "Deployed — monitoring" in text
    assert "Deployed to production by GitHub, triggered by <@U0DAVE>" in text
    assert any("monitoring until" in t for t in thread(bot, change_id))

    # The monitoring window of a deployment GitHub reported is watched like any other.
    bot.clock.advance(timedelta(minutes=31))
    await bot.sweep()
    assert any(m["text"] == f"Your monitoring window for CHG-{change_id} has ended."
               for m in bot.slack.dms("U0DAVE"))


async def test_a_deployment_with_gates_closed_is_recorded_and_flagged(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)  # in review: no approval, no staging
    await webhook(bot, "deployment_status", example("deployment_status"))

    change = await change_row(bot, change_id)
    assert change.status == "monitoring"
    assert change.deployed_by == "gh:Codertocat"
    assert change.deploy_exceptions == [
        "status: deployed while the change was in review, not ready for production",
        "approvals: 0 of 1 approval",
        "staging: not validated in staging yet",
    ]
    [flag] = await audit_events(bot, "deployed_with_gates_closed")
    assert flag.detail["exceptions"] == change.deploy_exceptions
    text = card_text(bot, change_id)
    assert (":rotating_light: *Deployed with gates closed*: deployed while the change was in "
            "review, not ready for production; Approvals: 0 of 1 approval; Staging: not "
            "validated in staging yet") in text
    assert "triggered by gh:Codertocat" in text
    assert any("while gates were closed" in m["text"] for m in bot.slack.dms("U0ALICE"))


async def test_a_deployment_outside_business_hours_is_flagged(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await click(bot, "bob", "change_approve", change_id)
    await make_ready(bot, change_id)
    bot.clock.advance(timedelta(hours=10))  # 20:00 on a Wednesday
    await webhook(bot, "deployment_status", example("deployment_status"))
    change = await change_row(bot, change_id)
    assert change.deploy_exceptions == ["business_hours: outside business hours "
                                        "(Mon–Fri 09:00–17:00 UTC)"]


async def test_a_deployment_of_the_merge_commit_matches_too(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    closed = example("pull_request/closed")
    closed["pull_request"]["merged"] = True
    await webhook(bot, "pull_request", closed)
    payload = example("deployment_status")
    payload["deployment"]["sha"] = "c4295bd74fb0f4fda03689c3df3f2803b658fd85"
    await webhook(bot, "deployment_status", payload)
    assert (await change_row(bot, change_id)).status == "monitoring"


async def test_an_unmatched_production_deployment_is_recorded_and_announced(bot, github):
    payload = example("deployment_status")
    payload["deployment"]["sha"] = "9" * 40
    reply = await webhook(bot, "deployment_status", payload)
    assert reply.status == 200
    [row] = await deployments(bot)
    assert row.change_id is None and row.sha == "9" * 40
    assert [e.change_id for e in await audit_events(bot, "unmatched_deployment")] == [None]
    [message] = [m for m in bot.slack.messages(CHANGES) if "Unmatched" in m["text"]]
    assert "`Codertocat/Hello-World` commit `9999999` was deployed to production" in (
        message["text"])


async def test_other_environments_failures_and_redeliveries_are_not_deployments(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    staging = example("deployment_status")
    staging["deployment_status"]["environment"] = "staging"
    failed = example("deployment_status")
    failed["deployment_status"]["state"] = "failure"
    assert (await webhook(bot, "deployment_status", staging)).status == 204
    assert (await webhook(bot, "deployment_status", failed)).status == 204
    assert await deployments(bot) == []
    assert (await change_row(bot, change_id)).status == "in_review"

    ok = example("deployment_status")
    await webhook(bot, "deployment_status", ok, delivery="dep-1")
    await webhook(bot, "deployment_status", ok, delivery="dep-1")  # redelivered
    await webhook(bot, "deployment_status", ok, delivery="dep-2")  # a second status
    assert len(await deployments(bot)) == 1
    assert len(await audit_events(bot, DEPLOYED_TO_PRODUCTION)) == 1


async def test_a_deployment_started_in_the_bot_finishes_into_monitoring(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    async with bot.ctx.db.session() as session:  # the deploy step belongs to another issue
        change = await session.get(type(await change_row(bot, change_id)), change_id)
        change.status = "deploying"
        session.add(change)
    await webhook(bot, "deployment_status", example("deployment_status"))
    change = await change_row(bot, change_id)
    assert (change.status, change.deploy_exceptions) == ("monitoring", [])



async def test_a_deployment_of_a_cancelled_change_is_flagged_and_it_stays_cancelled(
        bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await cancel(bot, "alice", change_id)
    await webhook(bot, "deployment_status", example("deployment_status"))
    change = await change_row(bot, change_id)
    assert (change.status, change.deployed_at) == ("cancelled", None)
    assert change.deploy_exceptions == [
        "status: deployed by GitHub after the change was cancelled"]
    assert ":rotating_light: Deployed by GitHub after the change was cancelled." in thread(
        bot, change_id)
    [row] = await deployments(bot)
    assert row.change_id == change_id


async def test_a_deployment_reported_by_github_is_followed_by_the_monitoring_window(
        bot, github):
    """Its window ends as one started in Slack does: the DM to verify or roll back, to the
    author when the GitHub login that deployed is not linked to anyone."""
    change_id = await propose(bot, pr_url=PR_URL)
    await click(bot, "bob", "change_approve", change_id)
    await make_ready(bot, change_id)
    await webhook(bot, "deployment_status", example("deployment_status"))
    assert (await change_row(bot, change_id)).deployed_by == "gh:Codertocat"

    bot.clock.advance(timedelta(minutes=30))
    await bot.sweep()
    [dm] = [m for m in bot.slack.dms("U0ALICE") if "monitoring window" in m["text"]]
    assert dm["text"] == "Your monitoring window for CHG-1 has ended."
    await click_dm(bot, "alice", "change_verify", dm)
    await fill(bot, "alice", {"checks": PRODUCTION_CHECKS, "notes": None})
    assert (await change_row(bot, change_id)).status == "completed"
    bot.clock.advance(timedelta(hours=1))
    await bot.sweep()
    assert len([m for m in bot.slack.dms("U0ALICE") if "monitoring window" in m["text"]]) == 1
