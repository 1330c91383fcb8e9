"""Approvals met from GitHub: a review webhook that counts, or a login linked later whose
earlier review then counts. Both end as an approval in Slack does (tests/approvals_met.py)."""

from tests.approvals_met import assert_approvals_met
from tests.flows import propose
from tests.github.login_proof import prove_login
from tests.github_flows import HEAD, NUMBER, OWNER, PR_URL, REPO, change_row, example, webhook


def approving(login: str) -> dict:
    payload = example("pull_request_review/submitted")
    payload["review"].update(state="approved", commit_id=HEAD, id=1,
                             submitted_at="2019-05-15T15:20:38Z")
    payload["review"]["user"]["login"] = login
    return payload


async def at_head(bot, github) -> int:
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    github.add_check_run(OWNER, REPO, HEAD, "build")
    return await propose(bot, pr_url=PR_URL, reviewers=["U0BOB", "U0CAROL"])


async def test_a_github_review_approval_cancels_the_reminders_and_tells_the_author(bot, github):
    change_id = await at_head(bot, github)
    github.add_user("bob-gh", "bob@example.com")
    reply = await webhook(bot, "pull_request_review", approving("bob-gh"))
    assert reply.status == 200, reply.text
    await bot.sweep()
    await assert_approvals_met(bot, change_id)


async def test_linking_a_login_whose_review_completes_them_does_the_same(bot, github):
    change_id = await at_head(bot, github)
    github.add_user("carol-work")  # her email is private: not linked yet
    await webhook(bot, "pull_request_review", approving("carol-work"))
    await bot.sweep()
    assert (await change_row(bot, change_id)).status == "in_review"

    await prove_login(bot, "carol", "U0CAROL", "carol-work")
    await assert_approvals_met(bot, change_id)
