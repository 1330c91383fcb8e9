"""Step 2 over real HTTP: a change links its pull request, which the bot reads with the real
PyGithub client from a fake GitHub on 127.0.0.1 and shows on the card."""

import pytest

from tests.fake_github import FakeGitHub
from tests.flows import card, card_text, click, more_options, propose, thread
from tests.github_flows import (
    BEFORE,
    NUMBER,
    OWNER,
    PR_URL,
    REPO,
    TOKEN,
    add_example_pull,
    audit_actions,
    change_row,
    pending,
    start,
)
from tests.harness import start_bot


def ephemeral_answers(bot, user: str) -> list[str]:
    return [r.get("text", "") for r in bot.slack.responses(user)]


async def test_a_proposal_with_a_pr_link_reads_the_pr_and_shows_it(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "build")
    change_id = await propose(bot, pr_url=PR_URL)

    change = await change_row(bot, change_id)
    assert (change.pr_repo, change.pr_number, change.head_sha) == (
        "codertocat/hello-world", NUMBER, BEFORE)
    assert change.pr_info["title"] == "Update the README with new information."
    assert change.pr_info["author"] == "alice-gh"
    assert (change.pr_info["base"], change.pr_info["head"]) == ("main", "changes")
    assert change.pr_info["files"] == ["README.md", "app/orders.py"]
    assert change.pr_info["merged"] is False
    assert change.ci_state == "success"
    assert change.github_checked_at == bot.clock.now()

    text = card_text(bot, change_id)
    assert f"<{PR_URL}|Codertocat/Hello-World#2>" in text
    assert "`changes` → `main` · open · head `f95f852` · 2 files changed" in text
    assert "*CI*: all checks passed" in text
    assert "change_github_refresh" in more_options(card(bot, change_id))  # in "…"
    # The PR was read with the bot's token, its files paged 100 at a time.
    files = [r for r in github.log if r.path.endswith("/pulls/2/files")]
    assert files and files[0].query["per_page"] == "100"
    assert all(r.headers["Authorization"] == f"token {TOKEN}" for r in github.log)


async def test_github_calls_are_counted_in_metrics(bot, github):
    await propose(bot, pr_url=PR_URL)
    metrics = (await bot.post_get("/metrics")).text
    assert 'changebot_github_api_calls_total{operation="get_pull",outcome="ok"} 1.0' in metrics


async def test_link_command_links_a_pr_later_and_only_the_author_may(bot, github):
    change_id = await propose(bot)
    assert (await change_row(bot, change_id)).pr_url is None

    await bot.command("bob", f"link CHG-{change_id} {PR_URL}")
    await bot.settle()
    assert "Only the author" in ephemeral_answers(bot, "U0BOB")[-1]
    assert (await change_row(bot, change_id)).pr_url is None

    await bot.command("alice", f"link CHG-{change_id} <{PR_URL}/files>")
    await bot.settle()
    assert "Linked Codertocat/Hello-World#2 to CHG-1" in ephemeral_answers(bot, "U0ALICE")[-1]
    change = await change_row(bot, change_id)
    assert change.pr_url == PR_URL
    assert change.head_sha == BEFORE
    assert "Update the README" in card_text(bot, change_id)
    assert "pr_linked" in await audit_actions(bot, change_id)
    assert any("linked the pull request" in t for t in thread(bot, change_id))


@pytest.mark.parametrize(("text", "says"), [
    ("link", "Give the change and the pull request"),
    ("link CHG-1", "Give the change and the pull request"),
    ("link CHG-x https://github.com/a/b/pull/1", "is not a change id"),
    ("link CHG-1 https://github.com/a/b/issues/1", "is a link to an issue"),
    ("link CHG-1 not-a-link", "not a pull request link"),
])
async def test_link_command_explains_bad_input_and_changes_nothing(bot, text, says):
    change_id = await propose(bot)
    reply = await bot.command("alice", text)
    assert reply.status == 200
    assert says in reply.json()["text"]
    assert (await change_row(bot, change_id)).pr_url is None


async def test_link_to_a_missing_change(bot):
    await bot.command("alice", f"link CHG-9 {PR_URL}")
    await bot.settle()
    assert "There is no CHG-9" in ephemeral_answers(bot, "U0ALICE")[-1]


async def test_a_pr_the_token_cannot_see_is_explained_to_the_author(bot, github):
    missing = f"https://github.com/{OWNER}/{REPO}/pull/404"
    change_id = await propose(bot, pr_url=missing)

    dms = [m["text"] for m in bot.slack.dms("U0ALICE")]
    assert any("can't read the pull request linked to *CHG-1*" in t and "token" in t
               for t in dms)
    change = await change_row(bot, change_id)
    assert change.ci_state == "unknown"
    text = card_text(bot, change_id)
    assert "unknown — the pull request cannot be read" in text
    assert "does not exist or the token cannot see it" in text
    assert await pending(bot, "github_sync") == []  # no point reading it again
    # Reading it again (Refresh) does not DM the author a second time.
    await click(bot, "carol", "change_github_refresh", change_id)
    assert sum("can't read" in m["text"] for m in bot.slack.dms("U0ALICE")) == 1


async def test_a_bad_token_is_shown_as_unreachable_and_retried(db, slack, clock, policy):
    async with FakeGitHub(token="the-real-token") as fake:
        add_example_pull(fake)
        bot = await start(db, slack, clock, policy, fake)  # with TOKEN: rejected (401)
        try:
            change_id = await propose(bot, pr_url=PR_URL)
            change = await change_row(bot, change_id)
            assert change.ci_state == "unknown"
            assert "GitHub rejected the token" in change.github_error
            assert "unknown — GitHub unreachable" in card_text(bot, change_id)
            assert len(await pending(bot, "github_sync")) == 1
        finally:
            await bot.stop()


async def test_without_a_token_the_card_says_github_is_not_connected(db, slack, clock, policy):
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    try:
        assert bot.ctx.github is None
        change_id = await propose(bot, pr_url=PR_URL)
        text = card_text(bot, change_id)
        assert "GitHub is not connected to Changebot (no GITHUB_TOKEN)" in text
        assert "*CI*: unknown — GitHub is not connected (no GITHUB_TOKEN)" in text
        assert await pending(bot, "github_sync") == []

        await click(bot, "alice", "change_github_refresh", change_id)
        assert "GitHub is not connected" in bot.slack.responses("U0ALICE")[-1]["text"]
        # A change without a PR is not held by CI.
        other = await propose(bot)
        assert "*CI*: no pull request linked" in card_text(bot, other)
    finally:
        await bot.stop()


async def test_revising_to_another_pr_forgets_the_old_one(bot, github):
    github.add_pull(OWNER, REPO, 3, title="Second try", author="alice-gh", head_sha="c" * 40,
                    files=["docs/x.md"])
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.command("alice", f"link CHG-{change_id} https://github.com/{OWNER}/{REPO}/pull/3")
    await bot.settle()
    change = await change_row(bot, change_id)
    assert (change.pr_number, change.head_sha) == (3, "c" * 40)
    assert change.pr_info["title"] == "Second try"
    assert change.pr_info["files"] == ["docs/x.md"]


async def test_changed_files_trigger_a_security_review_routed_to_the_team(bot, github):
    add_example_pull(github, files=["README.md", "src/auth/login.py"])
    change_id = await propose(bot, pr_url=PR_URL)
    await click(bot, "carol", "change_github_refresh", change_id)  # read again: nothing new

    change = await change_row(bot, change_id)
    assert change.security_triggers == [{"source": "path", "reason": "`auth/`"}]
    assert "Security review required — `auth/` (changed files)" in card_text(bot, change_id)
    assert "*Security review*: waiting for the security team" in card_text(bot, change_id)
    assert (await audit_actions(bot, change_id)).count("security_triggers_changed") == 1
    assert any("<!subteam^S0SECURITY>" in note for note in thread(bot, change_id))
    assert len(bot.slack.dms("U0ERIN")) == 1  # erin, the security team, is asked once
