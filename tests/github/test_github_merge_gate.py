"""The merge gate, end to end: the `Changebot` check run (App mode) or commit status (token
mode) on the linked pull request's head, kept up to date with every change of state."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.github.merge_gate import NO_CHANGE
from storage.models import Reminder
from tests.fake_github import FakeGitHub
from tests.flows import card_text, click, propose
from tests.github.gates_harness import app_github, start_app_bot
from tests.github_flows import (
    BEFORE,
    HEAD,
    OWNER,
    PR_URL,
    REPO,
    TOKEN,
    add_example_pull,
    example,
    start,
    webhook,
)


@pytest.fixture
async def app_bot(db, slack, clock, policy):
    fake = await app_github(clock)
    harness = await start_app_bot(db, slack, clock, policy, fake)
    yield harness, fake
    await harness.stop()
    await fake.stop()


@pytest.fixture
async def token_bot(db, slack, clock, policy):
    async with FakeGitHub(token=TOKEN) as fake:
        add_example_pull(fake)
        fake.add_check_run(OWNER, REPO, BEFORE, "build")
        harness = await start(db, slack, clock, policy, fake)
        yield harness, fake
        await harness.stop()


def check(fake: FakeGitHub, sha: str) -> dict:
    return fake.check_runs(OWNER, REPO, sha)["Changebot"]


async def test_the_check_stays_pending_until_the_approval_then_turns_green(app_bot):
    bot, fake = app_bot
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    run = check(fake, BEFORE)
    assert (run["status"], run["conclusion"]) == ("in_progress", None)
    assert run["output"]["title"] == f"CHG-{change_id}: 0 of 1 approval"
    assert run["details_url"].startswith("https://")  # the card

    await click(bot, "bob", "change_approve", change_id)  # no sweep, no time moved
    run = check(fake, BEFORE)
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert len({w["id"] for w in fake.check_runs_written}) == 1  # updated in place


async def test_a_new_head_gets_a_new_check_and_starts_over(app_bot):
    bot, fake = app_bot
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)
    fake.set_head(OWNER, REPO, 2, HEAD)
    fake.add_check_run(OWNER, REPO, HEAD, "build")
    await webhook(bot, "pull_request", example("pull_request/synchronize"))
    await bot.sweep()
    assert check(fake, BEFORE)["conclusion"] == "success"  # the old head keeps its check
    run = check(fake, HEAD)
    assert (run["status"], run["output"]["title"]) == ("in_progress",
                                                       f"CHG-{change_id}: 0 of 1 approval")


async def test_a_rejected_change_fails_its_check(app_bot):
    bot, fake = app_bot
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_reject", change_id)
    await bot.submit("bob", bot.slack.opened_views()[-1], {"reason": "No."})
    await bot.settle()
    assert check(fake, BEFORE)["conclusion"] == "failure"


async def test_a_pull_request_without_a_change_gets_a_neutral_check(app_bot):
    bot, fake = app_bot
    reply = await webhook(bot, "pull_request", example("pull_request/opened"))
    assert reply.status == 200, reply.text
    pr_head = example("pull_request/opened")["pull_request"]["head"]["sha"]
    run = check(fake, pr_head)
    assert run["conclusion"] == "neutral"
    assert "no change record" in run["output"]["title"]


async def test_a_head_that_is_no_sha_is_refused_when_its_check_is_scheduled(app_bot):
    """The row's payload is checked against its kind's shape as it is scheduled: a 400 and
    nothing kept, rather than a row that fails when the sweeper claims it."""
    bot, fake = app_bot
    payload = example("pull_request/opened")
    payload["pull_request"]["head"]["sha"] = 12345
    reply = await webhook(bot, "pull_request", payload)
    assert reply.status == 400, reply.text
    async with bot.ctx.db.session() as session:
        found = await session.exec(select(Reminder).where(Reminder.kind == NO_CHANGE))
        assert found.all() == []
    assert fake.check_runs_written == []


async def test_token_mode_keeps_a_commit_status_instead(token_bot):
    bot, fake = token_bot
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    [status] = fake.commit_statuses(OWNER, REPO, BEFORE, "Changebot")
    assert (status["state"], status["description"]) == ("pending",
                                                        f"CHG-{change_id}: 0 of 1 approval")
    await click(bot, "bob", "change_approve", change_id)
    assert fake.commit_statuses(OWNER, REPO, BEFORE, "Changebot")[0]["state"] == "success"
    assert fake.check_runs_written == []
    # Our own status is not CI: read again, the CI gate still reads the build alone.
    await click(bot, "alice", "change_github_refresh", change_id)
    await bot.sweep()
    assert "*CI*: all checks passed" in card_text(bot, change_id)
