"""Roles and Step 2's named tests with a pull request, over real webhooks against the fake
GitHub: the infrastructure paths a PR changes, GitHub reviews under `groups.reviewers` and
`groups.infrastructure`, and the checks the policy requires by name."""

import pytest

from bot.playground.standin.workspace import demo_policy
from bot.policy import GitHubPolicy, Groups
from tests.flows import card_text, propose, thread
from tests.github_flows import (
    BEFORE,
    HEAD,
    NUMBER,
    OWNER,
    PR_URL,
    REPO,
    add_example_pull,
    approvals,
    approving,
    example,
    webhook,
)

GROUPS = Groups(security="S0SECURITY", tech_leads="S0TECHLEADS", infrastructure="S0INFRA",
                reviewers="S0REVIEWERS")


@pytest.fixture
def policy():
    return demo_policy(groups=GROUPS, github=GitHubPolicy(
        required_checks=["sast", "test-*", "secret scanning"]))


@pytest.fixture(autouse=True)
def teams(slack):
    slack.add_usergroup("S0INFRA", "infra", ["U0CAROL"])
    slack.add_usergroup("S0REVIEWERS", "reviewers", ["U0BOB"])


async def test_a_pr_changing_terraform_waits_for_the_infrastructure_team(bot, github):
    add_example_pull(github, head_sha=HEAD, files=["terraform/network/main.tf", "README.md"])
    github.add_user("carol-gh", "carol@example.com")
    github.add_user("erin-gh", "erin@example.com")
    change_id = await propose(bot, pr_url=PR_URL)
    assert ("waiting for the infrastructure team (changes `terraform/**`, changes "
            "`**/*.tf`)") in card_text(bot, change_id)

    assert any("<!subteam^S0INFRA> this is an infrastructure change (changes `terraform/**`"
               in n for n in thread(bot, change_id))
    # Erin is neither a reviewer nor in the infrastructure team: her review is evidence only.
    await webhook(bot, "pull_request_review", approving("erin-gh", 1))
    await bot.sweep()
    assert "0 of 1 approval" in card_text(bot, change_id)

    await webhook(bot, "pull_request_review", approving("carol-gh", 2))
    await bot.sweep()
    text = card_text(bot, change_id)
    assert "*Infrastructure team*: approved by <@U0CAROL>" in text
    assert "1 of 1 approval" in text
    counted = [(a.github_login, a.user_id, a.infrastructure) for a in
               await approvals(bot, change_id) if a.user_id]
    assert counted == [("carol-gh", "U0CAROL", True)]


async def test_a_required_check_that_did_not_run_fails_the_ci_gate(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "test-unit")
    github.add_check_run(OWNER, REPO, BEFORE, "Secret Scanning")
    github.add_status(OWNER, REPO, BEFORE, "ci/lint", "success")
    change_id = await propose(bot, pr_url=PR_URL)
    text = card_text(bot, change_id)
    assert "required check `sast` did not run" in text
    assert "all checks passed" not in text

    # The SAST job is back on the next commit: every required check reported, green.
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    for name in ("test-unit", "test-integration", "secret scanning", "SAST"):
        github.add_check_run(OWNER, REPO, HEAD, name)
    await webhook(bot, "pull_request", example("pull_request/synchronize"))
    await bot.sweep()
    assert "*CI*: all checks passed" in card_text(bot, change_id)


async def test_failing_checks_and_missing_ones_are_both_named(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "test-unit", conclusion="failure")
    change_id = await propose(bot, pr_url=PR_URL)
    assert ("*CI*: failing: test-unit; required checks `sast`, `secret scanning` did not "
            "run") in card_text(bot, change_id)
