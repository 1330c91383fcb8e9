"""Segregation of duties where GitHub meets the process: holes an audit found, each with a
test that fails on the code before the fix."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage.models import UserLink
from tests.flows import card_text, click, propose
from tests.github.login_proof import code_of, pr_comment, prove_login
from tests.github_flows import (
    BEFORE,
    HEAD,
    OWNER,
    PR_URL,
    REPO,
    change_row,
    example,
    synchronize,
    webhook,
)


async def test_a_force_push_back_to_a_commit_seen_before_resets_the_approvals(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "build")
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)
    github.set_head(OWNER, REPO, 2, HEAD)
    await webhook(bot, "pull_request", synchronize(BEFORE, HEAD))
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)  # bob approves HEAD
    assert "1 of 1 approval" in card_text(bot, change_id)

    github.set_head(OWNER, REPO, 2, BEFORE)  # force-pushed back to the first commit
    await webhook(bot, "pull_request", synchronize(HEAD, BEFORE))
    await bot.sweep()
    change = await change_row(bot, change_id)
    assert change.head_sha == BEFORE  # before the fix: still HEAD, and HEAD's approval stood
    assert change.status == "in_review"
    assert change.revision == 3
    assert "0 of 1 approval" in card_text(bot, change_id)


async def test_a_late_delivery_of_an_older_push_changes_nothing(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    github.set_head(OWNER, REPO, 2, HEAD)
    await webhook(bot, "pull_request", synchronize(BEFORE, HEAD))
    revision = (await change_row(bot, change_id)).revision
    await webhook(bot, "pull_request", synchronize("1" * 40, BEFORE))  # an old push, late
    change = await change_row(bot, change_id)
    assert (change.head_sha, change.revision) == (HEAD, revision)


async def test_a_push_that_resets_the_security_review_asks_the_team_again(bot, github):
    change_id = await propose(bot, pr_url=PR_URL, security_checkboxes=["crypto"])
    await bot.sweep()
    asked = len(bot.slack.dms("U0ERIN"))
    await click(bot, "erin", "security_approve", change_id)
    assert "approved by <@U0ERIN>" in card_text(bot, change_id)

    github.set_head(OWNER, REPO, 2, HEAD)
    await webhook(bot, "pull_request", synchronize(BEFORE, HEAD))
    await bot.sweep()
    assert "*Security review*: waiting for the security team" in card_text(bot, change_id)
    new = [m["text"] for m in bot.slack.dms("U0ERIN")[asked:]]
    # Before the fix the review waited for ever, the team never asked again.
    assert any("needs your security review" in t or "security review" in t
               for t in new if "approved the security review" not in t), new
    change = await change_row(bot, change_id)
    assert change.security_routed_at == bot.clock.now()


async def test_the_pull_requests_author_may_not_approve_the_change(bot, github):
    github.set_author(OWNER, REPO, 2, "bob-gh")  # alice proposed it; bob wrote the code
    async with bot.ctx.db.session() as session:
        session.add(UserLink(github_login="bob-gh", slack_user_id="U0BOB",
                             linked_by="email", created_at=bot.clock.now()))
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await click(bot, "bob", "change_approve", change_id)
    assert "you wrote its pull request" in bot.slack.responses(user="U0BOB")[-1]["text"]
    assert "0 of 1 approval" in card_text(bot, change_id)
    await click(bot, "carol", "change_approve", change_id)
    assert "1 of 1 approval" in card_text(bot, change_id)


def test_the_pull_requests_author_reviews_neither_its_security_nor_overrides_it() -> None:
    from bot.change.facts import ChangeFacts
    from bot.change.states import Category, Risk, Status
    from bot.security.rules import may_decide_security, may_override_security

    facts = ChangeFacts(category=Category.normal, risk=Risk.low, status=Status.in_review,
                        author="U0ALICE", security_required=True, pr_author="U0ERIN")
    assert not may_decide_security(facts, "U0ERIN", True).allowed
    assert may_decide_security(facts, "U0CAROL", True).allowed
    assert not may_override_security(facts, "U0ERIN", True).allowed


def approving_review(login: str, commit: str) -> dict:
    payload = example("pull_request_review/submitted")
    payload["review"].update(state="approved", commit_id=commit, id=7,
                             submitted_at="2019-05-15T15:20:38Z")
    payload["review"]["user"]["login"] = login
    return payload


async def test_claiming_someone_elses_login_links_nothing_without_the_logins_proof(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    github.add_user("bob-gh")  # his email is private: nothing to contradict a claim
    await bot.command("dave", "github bob-gh")  # dave claims bob's login
    await bot.settle()
    code = code_of(bot, "U0DAVE")
    assert "do not count as yours" in bot.slack.responses("U0DAVE")[-1]["text"]

    await webhook(bot, "pull_request_review", approving_review("bob-gh", BEFORE))
    await bot.sweep()
    # Before the fix dave was linked at once, and bob's approval counted as dave's.
    assert (await change_row(bot, change_id)).status == "in_review"
    assert "0 of 1 approval" in card_text(bot, change_id)

    reply = await webhook(bot, "issue_comment", pr_comment("dave-gh", f"changebot verify {code}"))
    assert "not by the login claimed" in reply.text  # someone else posting it proves nothing
    bot.clock.advance(timedelta(hours=25))
    reply = await webhook(bot, "issue_comment", pr_comment("bob-gh", f"changebot verify {code}"))
    assert "no open login claim" in reply.text  # too late
    await bot.sweep()
    assert (await change_row(bot, change_id)).status == "in_review"
    async with bot.ctx.db.session() as session:
        assert (await session.exec(select(UserLink))).all() == []


async def test_a_login_proven_by_its_comment_counts_its_reviews(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    github.add_user("bob-gh")
    await webhook(bot, "pull_request_review", approving_review("bob-gh", BEFORE))
    await bot.sweep()
    reply = await prove_login(bot, "bob", "U0BOB", "bob-gh")
    assert reply.status == 200 and "proven and linked" in reply.text
    assert (await change_row(bot, change_id)).status == "approved"
    assert "Linked GitHub `bob-gh` to you" in bot.slack.dms("U0BOB")[-1]["text"]
    # The code is spent: posting it again links nothing more.
    again = await webhook(bot, "issue_comment", pr_comment("bob-gh", "changebot verify "
                                                           + code_of(bot, "U0BOB")))
    assert "no open login claim" in again.text


async def test_the_pull_requests_author_linked_later_may_not_approve_either(bot, github):
    github.set_author(OWNER, REPO, 2, "bob-gh")
    github.add_user("bob-gh")  # private email: not linked when the pull request is read
    change_id = await propose(bot, pr_url=PR_URL)
    await bot.sweep()
    await prove_login(bot, "bob", "U0BOB", "bob-gh")
    await click(bot, "bob", "change_approve", change_id)
    assert "you wrote its pull request" in bot.slack.responses(user="U0BOB")[-1]["text"]
    assert (await change_row(bot, change_id)).status == "in_review"
