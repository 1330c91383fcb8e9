"""The EMERGENCY label both ways: a PR labelled on GitHub opens an emergency change; an
emergency change with a PR gets the label (durably, retried)."""

from datetime import timedelta

import pytest

from bot.github.emergency_label import label_emergency
from bot.playground.standin.workspace import ENGINEERING
from tests.fake_github import FakeGitHub
from tests.flows import card_text, cards, propose, thread
from tests.github.login_proof import prove_login
from tests.github_flows import (
    BEFORE,
    NUMBER,
    OWNER,
    PR_URL,
    REPO,
    TOKEN,
    add_example_pull,
    audit_events,
    change_row,
    example,
    webhook,
)


@pytest.fixture
async def github():
    async with FakeGitHub(token=TOKEN) as fake:
        add_example_pull(fake, author="Codertocat", files=["src/auth/session.py"])
        yield fake


def labeled(name: str = "EMERGENCY") -> dict:
    payload = example("pull_request/labeled")
    payload["label"]["name"] = name
    return payload


async def test_a_pr_labelled_emergency_opens_an_emergency_change(bot, github):
    github.add_user("Codertocat", "alice@example.com")  # the PR author is Alice
    reply = await webhook(bot, "pull_request", labeled())
    assert reply.status == 200, reply.text

    change = await change_row(bot, 1)
    assert (change.category, change.risk, change.status) == ("emergency", "high", "in_review")
    assert change.author_id == "U0ALICE"
    assert change.title == "Update the README with new information."
    assert (change.pr_url, change.pr_number, change.head_sha) == (PR_URL, NUMBER, BEFORE)
    [declared] = await audit_events(bot, "emergency_declared")  # as /change emergency
    assert declared.change_id == 1
    [event] = await audit_events(bot, "emergency_opened_from_github")
    assert event.detail["author_login"] == "Codertocat" and event.actor == "gh:Codertocat"
    assert len(cards(bot)) == 1
    text = card_text(bot, 1)
    assert "Emergency" in text and "may come after deployment" in text
    # The PR's files were read: they touch auth, so a security review is now required.
    assert change.pr_info.get("files") == ["src/auth/session.py"]
    assert change.security_required
    assert any("labelled EMERGENCY on GitHub" in m["text"] for m in bot.slack.dms("U0ALICE"))

    # The emergency path runs as for /change emergency: the broadcast in #engineering.
    [broadcast] = [m for m in bot.slack.messages(ENGINEERING) if not m.get("thread_ts")]
    assert "EMERGENCY" in broadcast["text"] or "EMERGENCY" in str(broadcast["blocks"])

    # A redelivery or a second label event opens nothing more.
    await webhook(bot, "pull_request", labeled())
    assert len(cards(bot)) == 1

    # GitHub deploys it: the retrospective falls due 24 hours later.
    reply = await webhook(bot, "deployment_status", example("deployment_status"))
    assert reply.status == 200, reply.text
    change = await change_row(bot, 1)
    assert change.status == "monitoring"
    assert change.retrospective_due_at == bot.clock.now() + timedelta(hours=24)


async def test_a_github_approval_after_deployment_completes_the_emergency(bot, github):
    """As a Slack approval does (tests/emergency): before, a GitHub review of a deployed
    emergency counted but left no "approved" on the record and chased the tech leads."""
    github.add_user("Codertocat", "alice@example.com")
    github.add_user("bob-gh", "bob@example.com")
    await webhook(bot, "pull_request", labeled())
    await bot.sweep()
    await webhook(bot, "deployment_status", example("deployment_status"))
    await bot.sweep()
    assert (await change_row(bot, 1)).status == "monitoring"

    review = example("pull_request_review/submitted")
    review["review"].update(state="approved", commit_id=BEFORE, id=7,
                            submitted_at="2019-05-15T15:20:38Z")
    review["review"]["user"]["login"] = "bob-gh"
    assert (await webhook(bot, "pull_request_review", review)).status == 200
    await bot.sweep()

    [approved] = await audit_events(bot, "approved")
    assert approved.detail == {"after_deployment": True, "approvers": ["U0BOB"]}
    posts = [m["text"] for m in bot.slack.messages(ENGINEERING) if m.get("thread_ts")]
    assert ":white_check_mark: <@U0BOB> approved CHG-1 (after deployment)." in posts
    assert any("approved *CHG-1* after its deployment" in m["text"]
               for m in bot.slack.dms("U0ALICE"))
    bot.clock.advance(timedelta(hours=4))  # the delay passes: no tech lead is chased
    await bot.sweep()
    assert not any("still not approved" in m["text"] for m in bot.slack.dms("U0DAVE"))


async def test_an_unlinked_author_is_recorded_by_login_until_they_link(bot, github):
    await webhook(bot, "pull_request", labeled())
    change = await change_row(bot, 1)
    assert change.author_id == "gh:codertocat"
    assert "gh:codertocat" in card_text(bot, 1)

    github.add_user("Codertocat")
    await prove_login(bot, "alice", "U0ALICE", "Codertocat")
    assert (await change_row(bot, 1)).author_id == "U0ALICE"
    assert "<@U0ALICE>" in card_text(bot, 1)


async def test_other_labels_and_linked_prs_open_nothing(bot, github):
    assert (await webhook(bot, "pull_request", labeled("bug"))).status == 204
    assert cards(bot) == []


async def test_an_emergency_change_gets_the_label_on_github(bot, github):
    await webhook(bot, "pull_request", labeled())
    change = await change_row(bot, 1)
    github.fail(500, times=1)  # the first try fails: the sweeper tries again later
    assert await label_emergency(bot.ctx, change)
    await bot.settle()
    assert github.labels(OWNER, REPO, NUMBER) == []
    bot.clock.advance(timedelta(minutes=1))
    await bot.sweep()
    assert github.labels(OWNER, REPO, NUMBER) == ["EMERGENCY"]
    assert [e.detail["label"] for e in await audit_events(bot, "github_label_added")] == [
        "EMERGENCY"]
    assert not await label_emergency(bot.ctx, change)  # once is enough


async def test_linking_an_emergency_change_to_a_pr_labels_it(bot, github):
    github.add_user("Codertocat", "alice@example.com")
    await webhook(bot, "pull_request", labeled())
    github.add_pull(OWNER, REPO, 3, title="The real fix", author="Codertocat",
                    head_sha="d" * 40)
    await bot.command("alice", f"link CHG-1 https://github.com/{OWNER}/{REPO}/pull/3")
    await bot.settle()
    assert github.labels(OWNER, REPO, 3) == ["EMERGENCY"]


async def test_an_emergency_label_on_a_linked_normal_change_is_only_noted(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    assert (await webhook(bot, "pull_request", labeled("emergency"))).status == 200
    assert (await change_row(bot, change_id)).category == "normal"
    assert any("still goes through every gate" in t for t in thread(bot, change_id))


async def test_a_long_unlinked_login_fits_as_the_author(bot, github):
    login = "a-very-long-github-login-of-39-chars-xy"
    assert len(login) == 39
    payload = labeled()
    payload["pull_request"]["user"]["login"] = login
    await webhook(bot, "pull_request", payload)
    assert (await change_row(bot, 1)).author_id == f"gh:{login}"
