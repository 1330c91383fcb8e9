"""GitHub webhooks over real HTTP, signed as GitHub signs them, built from octokit's real
example payloads: verification, redelivery, CI events, pushes, merges and reviews."""

from datetime import timedelta

from sqlmodel import func, select

from bot.playground.standin.workspace import demo_policy
from bot.policy import GitHubPolicy
from storage.models import InboundRequest, UserLink
from tests.flows import buttons, card, card_text, click, click_stale, propose, thread
from tests.github.login_proof import prove_login
from tests.github_flows import (
    BEFORE,
    HEAD,
    NUMBER,
    OWNER,
    PR_URL,
    REPO,
    STATUS_SHA,
    approvals,
    audit_actions,
    audit_events,
    change_row,
    example,
    pending,
    signature,
    start,
    webhook,
)


async def deliveries(bot) -> int:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(func.count()).select_from(InboundRequest))).one()


def synchronize() -> dict:
    return example("pull_request/synchronize")  # BEFORE -> HEAD on Codertocat/Hello-World#2


async def approved_change(bot, github) -> int:
    """CHG-1 linking the example PR at BEFORE with green CI, approved by Bob in Slack."""
    github.add_check_run(OWNER, REPO, BEFORE, "build")
    change_id = await propose(bot, pr_url=PR_URL)
    await click(bot, "bob", "change_approve", change_id)
    assert (await change_row(bot, change_id)).status == "approved"
    return change_id


# --------------------------------------------------------------------------- verification


async def test_a_forged_or_unsigned_webhook_is_refused_and_changes_nothing(bot, github):
    change_id = await approved_change(bot, github)
    before = await audit_actions(bot)

    forged = await webhook(bot, "pull_request", synchronize(), secret="not-the-secret")
    unsigned = await webhook(bot, "pull_request", synchronize(), secret=None)
    garbage = await webhook(bot, "pull_request", synchronize(), sign="sha256=zz")
    assert (forged.status, unsigned.status, garbage.status) == (401, 401, 401)
    assert "X-Hub-Signature-256" in forged.json()["error"]

    # Signed, then altered on the way: the signature no longer matches the body.
    body = b'{"action": "synchronize"}'
    async with bot.http.post(bot.url + "/github/webhook", data=body + b" ", headers={
        "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": signature(body), "Content-Type": "application/json",
    }) as r:
        assert r.status == 401

    change = await change_row(bot, change_id)
    assert (change.head_sha, change.status, change.revision) == (BEFORE, "approved", 1)
    assert await audit_actions(bot) == before
    assert await deliveries(bot) == 0


async def test_without_a_secret_webhooks_are_refused_with_a_clear_answer(
    db, slack, clock, policy, github
):
    bot = await start(db, slack, clock, policy, github, github_webhook_secret=None)
    try:
        reply = await webhook(bot, "ping", example("ping"))
        assert reply.status == 503
        assert "GITHUB_WEBHOOK_SECRET" in reply.json()["error"]
        assert await deliveries(bot) == 0
    finally:
        await bot.stop()


async def test_ping_unknown_events_and_malformed_bodies(bot):
    assert (await webhook(bot, "ping", example("ping"))).json() == {"ok": "pong"}
    unknown = await webhook(bot, "star", {"action": "created"})
    assert (unknown.status, unknown.text) == (204, "")
    ignored = await webhook(bot, "check_run", {**example("check_run/completed"),
                                               "action": "created"})
    assert ignored.status == 204
    body = b"not json"
    async with bot.http.post(bot.url + "/github/webhook", data=body, headers={
        "X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-2",
        "X-Hub-Signature-256": signature(body),
    }) as r:
        assert r.status == 400
    broken = await webhook(bot, "status", {"repository": {}})
    assert broken.status == 400
    assert await deliveries(bot) == 2  # ping and the ignored check_run; not the broken one


async def test_a_redelivery_is_ignored(bot, github):
    change_id = await approved_change(bot, github)
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    first = await webhook(bot, "pull_request", synchronize(), delivery="delivery-7")
    again = await webhook(bot, "pull_request", synchronize(), delivery="delivery-7")
    assert first.status == again.status == 200
    assert "already handled" in again.json()["ok"]
    change = await change_row(bot, change_id)
    assert change.revision == 2  # reset once, not twice
    assert (await audit_actions(bot, change_id)).count("approvals_reset") == 1


async def test_webhooks_sent_as_a_form_are_read_too(bot, github):
    import json
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(example("ping"))}).encode()
    async with bot.http.post(bot.url + "/github/webhook", data=body, headers={
        "X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-3",
        "X-Hub-Signature-256": signature(body),
        "Content-Type": "application/x-www-form-urlencoded",
    }) as r:
        assert r.status == 200


# --------------------------------------------------------------------------- CI events


async def test_check_run_completed_re_evaluates_ci(bot, github):
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    github.add_check_run(OWNER, REPO, HEAD, "Octocoders-linter", status="in_progress",
                         conclusion=None)
    change_id = await propose(bot, pr_url=PR_URL)
    assert "*CI*: checks running" in card_text(bot, change_id)

    github.add_check_run(OWNER, REPO, HEAD, "Octocoders-linter", conclusion="failure")
    reply = await webhook(bot, "check_run", example("check_run/completed"))
    assert reply.status == 200, reply.text
    assert "*CI*: failing: Octocoders-linter" in card_text(bot, change_id)

    github.add_check_run(OWNER, REPO, HEAD, "Octocoders-linter")
    await webhook(bot, "check_suite", example("check_suite/completed"))
    assert "*CI*: all checks passed" in card_text(bot, change_id)
    assert [e.detail["state"] for e in await audit_events(bot, "ci_changed")] == [
        "pending", "failure", "success"]


async def test_a_status_event_re_evaluates_ci_of_that_commit(bot, github):
    github.set_head(OWNER, REPO, NUMBER, STATUS_SHA)
    change_id = await propose(bot, pr_url=PR_URL)
    github.add_status(OWNER, REPO, STATUS_SHA, "default", "success")
    await webhook(bot, "status", example("status"))
    assert "*CI*: all checks passed" in card_text(bot, change_id)


async def test_ci_event_while_github_is_down_is_unknown_then_retried(bot, github):
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    change_id = await propose(bot, pr_url=PR_URL)
    github.add_check_run(OWNER, REPO, HEAD, "Octocoders-linter")
    github.fail(503, times=1)
    reply = await webhook(bot, "check_run", example("check_run/completed"))
    assert reply.status == 200
    assert "*CI*: unknown — GitHub unreachable" in card_text(bot, change_id)
    bot.clock.advance(timedelta(seconds=15))
    await bot.sweep()
    assert "*CI*: all checks passed" in card_text(bot, change_id)


# --------------------------------------------------------------------------- pushes


async def test_a_new_push_resets_approvals_and_re_evaluates_ci(bot, github):
    change_id = await approved_change(bot, github)
    assert "*CI*: all checks passed" in card_text(bot, change_id)
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    github.add_check_run(OWNER, REPO, HEAD, "build", conclusion="failure")

    reply = await webhook(bot, "pull_request", synchronize())
    assert reply.status == 200, reply.text

    change = await change_row(bot, change_id)
    assert (change.head_sha, change.status, change.revision) == (HEAD, "in_review", 2)
    [reset] = await audit_events(bot, "approvals_reset")
    assert reset.detail["reason"] == f"approvals reset: new commit {HEAD}"
    assert reset.detail["sha"] == HEAD
    text = card_text(bot, change_id)
    assert "0 of 1 approval" in text
    assert "*CI*: failing: build" in text
    assert any("approve a SHA, not a branch" in t for t in thread(bot, change_id))
    assert any("changed since you approved it" in m["text"] for m in bot.slack.dms("U0BOB"))
    # Bob approves the new commit: it counts again.
    await click(bot, "bob", "change_approve", change_id)
    assert (await change_row(bot, change_id)).status == "approved"


async def test_without_webhooks_a_poll_finds_the_push(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "build", status="queued", conclusion=None)
    change_id = await propose(bot, pr_url=PR_URL)
    await click(bot, "bob", "change_approve", change_id)
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    github.add_check_run(OWNER, REPO, HEAD, "build")
    bot.clock.advance(timedelta(minutes=1))
    await bot.sweep()
    change = await change_row(bot, change_id)
    assert (change.head_sha, change.revision, change.ci_state) == (HEAD, 2, "success")
    assert "0 of 1 approval" in card_text(bot, change_id)


async def test_the_refresh_button_reads_the_pr_now(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    github.add_check_run(OWNER, REPO, HEAD, "build")
    await click(bot, "carol", "change_github_refresh", change_id)
    assert (await change_row(bot, change_id)).head_sha == HEAD
    assert "*CI*: all checks passed" in card_text(bot, change_id)
    assert "Reading" in bot.slack.responses("U0CAROL")[-1]["text"]


async def test_merge_records_the_merge_commit(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    closed = example("pull_request/closed")
    closed["pull_request"]["merged"] = True
    closed["pull_request"]["merged_by"] = {"login": "carol-gh"}
    reply = await webhook(bot, "pull_request", closed)
    assert reply.status == 200
    change = await change_row(bot, change_id)
    merge = "c4295bd74fb0f4fda03689c3df3f2803b658fd85"  # the example's merge_commit_sha
    assert change.merge_sha == merge
    assert change.pr_info["merged"] is True
    assert "merged · head `f95f852` · merge `c4295bd`" in card_text(bot, change_id)
    [event] = await audit_events(bot, "pr_merged")
    assert (event.actor, event.detail["merge_sha"]) == ("gh:carol-gh", merge)


async def test_closed_without_merge_is_noted(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    await webhook(bot, "pull_request", example("pull_request/closed"))
    change = await change_row(bot, change_id)
    assert change.merge_sha is None
    assert change.pr_info["state"] == "closed"
    assert "closed without merging" in " ".join(thread(bot, change_id))


# --------------------------------------------------------------------------- reviews


def review(login: str, state: str = "approved", commit: str = HEAD, review_id: int = 1,
           at: str = "2019-05-15T15:20:38Z") -> dict:
    payload = example("pull_request_review/submitted")
    payload["review"].update(state=state, commit_id=commit, id=review_id, submitted_at=at)
    payload["review"]["user"]["login"] = login
    return payload


async def at_head(bot, github) -> int:
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    github.add_check_run(OWNER, REPO, HEAD, "build")
    return await propose(bot, pr_url=PR_URL)


async def test_a_pr_review_counts_once_mapped_by_email(bot, github):
    change_id = await at_head(bot, github)
    github.add_user("bob-gh", "bob@example.com")

    reply = await webhook(bot, "pull_request_review", review("bob-gh"))
    assert reply.status == 200, reply.text

    change = await change_row(bot, change_id)
    assert change.status == "approved"
    [vote] = await approvals(bot, change_id)
    assert (vote.source, vote.user_id, vote.github_login, vote.commit_sha) == (
        "github", "U0BOB", "bob-gh", HEAD)
    assert vote.created_at.year == 2019  # when it was submitted on GitHub
    async with bot.ctx.db.session() as session:
        link = await session.get(UserLink, "bob-gh")
    assert (link.slack_user_id, link.linked_by) == ("U0BOB", "email")
    text = card_text(bot, change_id)
    assert "1 of 1 approval" in text
    assert "`bob-gh` approved `ec26c3e` — counted as <@U0BOB>" in text
    [event] = await audit_events(bot, "github_review")
    assert event.detail["commit"] == HEAD and event.detail["state"] == "APPROVED"
    assert any("is approved" in m["text"] for m in bot.slack.dms("U0ALICE"))
    # The card no longer offers Approve; Bob approving in Slack too (a card seen before) is
    # refused, and it still counts once.
    assert "change_approve" not in buttons(card(bot, change_id))
    await click_stale(bot, "bob", "change_approve", change_id)
    assert "already complete (1 of 1)" in bot.slack.responses(user="U0BOB")[-1]["text"]
    assert "1 of 1 approval" in card_text(bot, change_id)


async def test_a_comment_review_from_the_example_is_not_a_decision(bot, github):
    change_id = await at_head(bot, github)
    reply = await webhook(bot, "pull_request_review", example("pull_request_review/submitted"))
    assert reply.status == 200 and "comment" in reply.json()["ok"]
    assert await approvals(bot, change_id) == []


async def test_an_unlinked_reviewer_counts_after_linking_their_login(bot, github):
    change_id = await at_head(bot, github)
    github.add_user("carol-work")  # her email is private
    await webhook(bot, "pull_request_review", review("carol-work"))
    assert (await change_row(bot, change_id)).status == "in_review"
    assert "not linked to a Slack user" in card_text(bot, change_id)

    await prove_login(bot, "carol", "U0CAROL", "carol-work")
    assert "Linked GitHub `carol-work` to you" in bot.slack.dms("U0CAROL")[-1]["text"]
    assert "1 earlier review" in bot.slack.dms("U0CAROL")[-1]["text"]
    change = await change_row(bot, change_id)
    assert change.status == "approved"
    assert "1 of 1 approval" in card_text(bot, change_id)
    # The login is Carol's now: nobody else can claim it.
    await bot.command("dave", "github carol-work")
    await bot.settle()
    assert "already linked to <@U0CAROL>" in bot.slack.responses("U0DAVE")[-1]["text"]


async def test_claiming_someone_elses_login_is_refused(bot, github):
    github.add_user("erin-gh", "erin@example.com")
    await bot.command("bob", "github erin-gh")
    await bot.settle()
    assert "public email of <@U0ERIN>" in bot.slack.responses("U0BOB")[-1]["text"]
    bad = await bot.command("bob", "github no/such")
    assert "is not a GitHub login" in bad.json()["text"]
    async with bot.ctx.db.session() as session:
        assert (await session.exec(select(func.count()).select_from(UserLink))).one() == 0


async def test_reviews_that_do_not_count(bot, github):
    change_id = await at_head(bot, github)
    github.add_user("alice-gh", "alice@example.com")
    github.add_user("bob-gh", "bob@example.com")
    await webhook(bot, "pull_request_review", review("alice-gh", review_id=1))
    await webhook(bot, "pull_request_review", review("bob-gh", commit=BEFORE, review_id=2))
    assert (await change_row(bot, change_id)).status == "in_review"
    text = card_text(bot, change_id)
    assert "the author's own review" in text
    assert "it approves commit f95f852, the head is ec26c3e" in text
    # Bob then asks for changes on the head: recorded, still nothing counts.
    await webhook(bot, "pull_request_review", review("bob-gh", "changes_requested",
                                                     review_id=3))
    assert "`bob-gh` requested changes `ec26c3e`" in card_text(bot, change_id)
    assert "0 of 1 approval" in card_text(bot, change_id)


async def test_reviews_are_also_read_from_github(bot, github):
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    github.add_user("bob-gh", "bob@example.com")
    github.add_review(OWNER, REPO, NUMBER, "bob-gh", "APPROVED", commit_id=HEAD)
    change_id = await propose(bot, pr_url=PR_URL)
    assert (await change_row(bot, change_id)).status == "approved"
    # Read again (a poll): the same review is not recorded twice.
    await click(bot, "carol", "change_github_refresh", change_id)
    assert len(await audit_events(bot, "github_review")) == 1
    assert len(await approvals(bot, change_id)) == 1
    assert await pending(bot, "github_review") == []


async def test_policy_may_keep_approvals_on_push_and_not_count_pr_reviews(
    db, slack, clock, github
):
    policy = demo_policy(github=GitHubPolicy(reset_approvals_on_push=False,
                                             count_pr_reviews=False))
    bot = await start(db, slack, clock, policy, github)
    try:
        change_id = await approved_change(bot, github)
        github.set_head(OWNER, REPO, NUMBER, HEAD)
        await webhook(bot, "pull_request", synchronize())
        change = await change_row(bot, change_id)
        assert (change.head_sha, change.status, change.revision) == (HEAD, "approved", 1)
        assert await audit_events(bot, "approvals_reset") == []

        other = await propose(bot, pr_url=PR_URL)
        github.add_user("carol-gh", "carol@example.com")
        await webhook(bot, "pull_request_review", review("carol-gh"))
        assert (await change_row(bot, other)).status == "in_review"
        assert "GitHub reviews do not count by policy" in card_text(bot, other)
    finally:
        await bot.stop()


async def test_changes_requested_after_an_approval_withdraws_it(bot, github):
    change_id = await at_head(bot, github)
    github.add_user("bob-gh", "bob@example.com")
    await webhook(bot, "pull_request_review", review("bob-gh", review_id=1))
    assert (await change_row(bot, change_id)).status == "approved"
    await webhook(bot, "pull_request_review", review("bob-gh", "changes_requested",
                                                     review_id=2, at="2019-05-15T16:00:00Z"))
    assert (await change_row(bot, change_id)).status == "in_review"
    [vote] = await approvals(bot, change_id)
    assert vote.decision == "changes_requested"
    assert "approval_withdrawn" in await audit_actions(bot, change_id)
    # An older review delivered late does not override the newer one.
    await webhook(bot, "pull_request_review", review("bob-gh", review_id=3,
                                                     at="2019-05-15T15:30:00Z"))
    assert (await change_row(bot, change_id)).status == "in_review"
    assert "superseded by a later review" in card_text(bot, change_id)
