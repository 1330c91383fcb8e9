"""An approval is bound to the commit it was given for: the merge gate and the deploy gate
count only the approvals of the commit being merged or deployed, also where no reset of the
approvals ran (a change already in production takes a new push without one)."""

from __future__ import annotations

from tests.flows import click, deployed, propose, staged
from tests.github.gates_harness import answers, protection_rule
from tests.github_flows import (
    BEFORE,
    HEAD,
    OWNER,
    PR_URL,
    REPO,
    approvals,
    change_row,
    synchronize,
    webhook,
)


def check(fake, sha: str) -> dict:
    return fake.check_runs(OWNER, REPO, sha)["Changebot"]


async def test_an_approval_counts_for_its_commit_only(app_bot, app_fake):
    bot, github = app_bot, app_fake
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)
    assert [a.commit_sha for a in await approvals(bot, change_id)] == [BEFORE]
    await staged(bot, change_id)
    await deployed(bot, change_id)  # in production: a new push resets nothing now
    assert check(github, BEFORE)["conclusion"] == "success"

    github.set_head(OWNER, REPO, 2, HEAD)
    github.add_check_run(OWNER, REPO, HEAD, "build")
    await webhook(bot, "pull_request", synchronize(BEFORE, HEAD))
    await bot.sweep()
    change = await change_row(bot, change_id)
    assert (change.head_sha, change.revision) == (HEAD, 1)  # no reset ran
    run = check(github, HEAD)  # before the fix: success, with BEFORE's approval
    assert (run["status"], run["output"]["title"]) == ("in_progress",
                                                       f"CHG-{change_id}: 0 of 1 approval")

    await webhook(bot, "deployment_protection_rule", protection_rule(sha=HEAD, run_id=7))
    [report] = answers(github, 7)
    assert report.get("state") is None  # before the fix: approved
    assert "Approvals: 0 of 1 approval" in report["comment"]

    # Force-pushed back to the approved commit: its approval counts again, for it.
    github.set_head(OWNER, REPO, 2, BEFORE)
    await webhook(bot, "pull_request", synchronize(HEAD, BEFORE))
    await bot.sweep()
    assert check(github, BEFORE)["conclusion"] == "success"
    await webhook(bot, "deployment_protection_rule", protection_rule(sha=BEFORE, run_id=8))
    assert answers(github, 8)[-1]["state"] == "approved"
    assert answers(github, 7)[-1].get("state") == "rejected"  # HEAD is no longer the head
