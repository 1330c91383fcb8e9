"""Code owners (`github.use_codeowners`), over real Slack requests and GitHub webhooks
against the fake GitHub: the repository's CODEOWNERS names whose approval each changed
file needs, the card says whose is still needed and why, and a CODEOWNERS that cannot be
read — malformed, not text, GitHub down — keeps the gate closed with the reason."""

from datetime import timedelta

import pytest

from bot.playground.standin.workspace import demo_policy
from bot.policy import GitHubPolicy, Groups
from tests.flows import buttons, card, card_text, click, last_answer, propose
from tests.github_flows import (
    HEAD,
    OWNER,
    PR_URL,
    REPO,
    add_example_pull,
    approving,
    change_row,
    pending,
    webhook,
)
from tests.overview.test_desk import checked, section

CODEOWNERS = """\
# Everything else: the tech lead.
*            @dave-gh
/app/        @carol-gh   # the app team
docs/        @acme/writers
"""


@pytest.fixture
def policy():
    return demo_policy(github=GitHubPolicy(use_codeowners=True))


@pytest.fixture(autouse=True)
def people(github):
    add_example_pull(github, head_sha=HEAD, files=["app/orders.py", "README.md"])
    for name in ("bob", "carol", "dave"):
        github.add_user(f"{name}-gh", f"{name}@example.com")


def gate(bot, change_id: int) -> str:
    """The card's Code owners line."""
    text = card_text(bot, change_id).replace("\\n", "\n")
    [line] = [x for x in text.splitlines() if "*Code owners*" in x]
    return line


async def test_each_owned_path_needs_one_of_its_owners(bot, github):
    github.add_file(OWNER, REPO, ".github/CODEOWNERS", CODEOWNERS)
    change_id = await propose(bot, pr_url=PR_URL)
    # The last matching line wins: app/orders.py is the app team's, not the tech lead's.
    assert ("needs an approval from @carol-gh for `/app/` (app/orders.py); @dave-gh for `*` "
            "(README.md)") in gate(bot, change_id)
    read = [r for r in github.log if r.path.endswith("/contents/.github/CODEOWNERS")]
    assert read and read[-1].query["ref"] == "main"  # the base branch's CODEOWNERS

    await click(bot, "bob", "change_approve", change_id)
    assert (await change_row(bot, change_id)).status == "approved"
    assert "needs an approval from @carol-gh" in gate(bot, change_id)
    # Approvals are complete, but carol's as an owner is still awaited: it is taken.
    await click(bot, "carol", "change_approve", change_id)
    assert "You approved" in last_answer(bot, "carol")
    assert "needs an approval from @dave-gh for `*` (README.md)" in gate(bot, change_id)
    assert "@carol-gh" not in gate(bot, change_id)
    # Erin owns nothing: with approvals complete, hers is refused.
    await click(bot, "erin", "change_approve", change_id)
    assert "approvals are already complete" in last_answer(bot, "erin")

    await webhook(bot, "pull_request_review", approving("dave-gh", 1))
    await bot.sweep()
    assert gate(bot, change_id).endswith(
        "approved by <@U0CAROL> for `/app/`; <@U0DAVE> for `*`")


async def test_an_owner_not_linked_to_slack_counts_by_their_github_review(bot, github):
    github.add_file(OWNER, REPO, "CODEOWNERS", "app/** @frank-gh\n")  # the root's
    change_id = await propose(bot, pr_url=PR_URL)
    assert "@frank-gh for `app/**` (app/orders.py)" in gate(bot, change_id)
    await click(bot, "bob", "change_approve", change_id)
    assert "needs an approval from @frank-gh" in gate(bot, change_id)
    reply = await webhook(bot, "pull_request_review", approving("frank-gh", 2))
    assert reply.status < 300
    await bot.sweep()
    assert "approved by `frank-gh` for `app/**`" in gate(bot, change_id)


async def test_a_team_counts_as_any_member_when_github_lists_it(bot, github):
    github.add_file(OWNER, REPO, "docs/CODEOWNERS", "/app/ @acme/platform\n"
                                                   "README.md @acme/secret-team\n")
    github.add_team("acme", "platform", ["carol-gh", "bob-gh"])
    change_id = await propose(bot, pr_url=PR_URL)
    text = gate(bot, change_id)
    assert "team @acme/platform counts as any of its members (carol-gh, bob-gh)" in text
    assert "team @acme/secret-team could not be listed" in text
    await click(bot, "carol", "change_approve", change_id)
    text = gate(bot, change_id)
    assert "@acme/platform for" not in text and "@acme/secret-team for `README.md`" in text


async def test_without_codeowners_the_gate_is_not_required(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    assert "the repository has no CODEOWNERS" in gate(bot, change_id)
    await click(bot, "bob", "change_approve", change_id)
    assert (await change_row(bot, change_id)).status == "approved"


@pytest.mark.parametrize(("content", "said"), [
    ("*.py @carol-gh\n[ab]*.md @dave-gh\n",
     ".github/CODEOWNERS line 2: `[ab]*.md` uses a [ ] character range"),
    ("app/ carol\n", ".github/CODEOWNERS line 1: `carol` is not an owner"),
    (b"\xff\xfe* @carol-gh\n", ".github/CODEOWNERS cannot be read: it is not UTF-8 text"),
    (None, ".github/CODEOWNERS cannot be read: it is a directory, not a file"),
])
async def test_a_codeowners_that_cannot_be_read_keeps_the_gate_closed(bot, github, content,
                                                                       said):
    github.add_file(OWNER, REPO, ".github/CODEOWNERS", content)
    change_id = await propose(bot, pr_url=PR_URL)
    text = gate(bot, change_id)
    assert said in text and "fix CODEOWNERS on the pull request's base branch" in text
    await click(bot, "carol", "change_approve", change_id)  # counts as a peer's, no more
    assert (await change_row(bot, change_id)).status == "approved"
    assert said in gate(bot, change_id)


async def test_github_down_for_codeowners_is_said_and_read_again(bot, github):
    github.add_file(OWNER, REPO, ".github/CODEOWNERS", CODEOWNERS)
    github.fail_path(f"/repos/{OWNER}/{REPO}/contents/", 502, times=1)
    change_id = await propose(bot, pr_url=PR_URL)
    assert "CODEOWNERS could not be read from GitHub" in gate(bot, change_id)
    assert "retrying automatically" in gate(bot, change_id)
    await click(bot, "bob", "change_approve", change_id)
    assert "change_approve" not in buttons(card(bot, change_id))  # nothing to approve yet
    [retry] = [r for r in await pending(bot, "github_sync") if r.due_at > bot.clock.now()]
    bot.clock.advance(retry.due_at - bot.clock.now() + timedelta(seconds=1))
    await bot.sweep()
    assert "needs an approval from @carol-gh for `/app/`" in gate(bot, change_id)
    await click(bot, "carol", "change_approve", change_id)
    assert "approved by <@U0CAROL> for `/app/`" not in gate(bot, change_id)  # dave's too
    assert "needs an approval from @dave-gh for `*` (README.md)" in gate(bot, change_id)


@pytest.mark.parametrize("policy", [demo_policy(
    groups=Groups(security="S0SECURITY", tech_leads="S0TECHLEADS", reviewers="S0REVIEWERS"),
    github=GitHubPolicy(use_codeowners=True))])
async def test_an_owner_outside_groups_reviewers_may_approve_what_they_own(bot, github, slack):
    slack.add_usergroup("S0REVIEWERS", "reviewers", ["U0BOB"])
    github.add_file(OWNER, REPO, ".github/CODEOWNERS", "/app/ @carol-gh\n")
    change_id = await propose(bot, pr_url=PR_URL)
    await click(bot, "erin", "change_approve", change_id)  # neither a reviewer nor an owner
    assert "Only the reviewers" in last_answer(bot, "erin")
    await click(bot, "carol", "change_approve", change_id)
    assert "You approved" in last_answer(bot, "carol")
    assert "approved by <@U0CAROL> for `/app/`" in gate(bot, change_id)
    # Asked for by name, the owner's approval counts as a peer's too (as the tech leads').
    assert (await change_row(bot, change_id)).status == "approved"


async def test_an_awaited_owner_finds_it_on_their_desk(bot, github):
    github.add_file(OWNER, REPO, ".github/CODEOWNERS", "/app/ @carol-gh\n")
    change_id = await propose(bot, pr_url=PR_URL)
    await click(bot, "bob", "change_approve", change_id)  # peers done, the owner awaited
    carol = section(checked(await bot.open_home("carol")), "Waiting for you")
    assert "code owner approval for <@U0ALICE> (`/app/`)" in carol
    assert "code owner" not in str((await bot.open_home("dave"))["blocks"])
    await click(bot, "carol", "change_approve", change_id)
    assert "code owner approval" not in str((await bot.open_home("carol"))["blocks"])
