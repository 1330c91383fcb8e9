"""The CI gate (Step 2) from GitHub's check runs and commit statuses, polled while pending,
and what happens when GitHub fails: the gate is "unknown", the bot retries, nothing crashes."""

from datetime import timedelta

from bot.change.gates import production_blockers
from bot.change.rows import facts_of
from bot.playground.standin.workspace import demo_policy
from bot.policy import GitHubPolicy
from storage import repo
from tests.flows import card_text, propose
from tests.github_flows import (
    BEFORE,
    OWNER,
    PR_URL,
    REPO,
    audit_events,
    change_row,
    pending,
    start,
)


async def blockers(bot, change_id: int) -> list[str]:
    async with bot.ctx.db.session() as session:
        change = await repo.get_change(session, change_id)
        facts = facts_of(change, await repo.approvals_of(session, change_id))
    return [g.key for g in production_blockers(facts, bot.ctx.policy, bot.clock.now())]


async def test_green_ci_opens_the_gate(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "build")
    github.add_check_run(OWNER, REPO, BEFORE, "docs", conclusion="skipped")
    github.add_status(OWNER, REPO, BEFORE, "ci/jenkins", "success")
    change_id = await propose(bot, pr_url=PR_URL)
    assert "*CI*: all checks passed" in card_text(bot, change_id)
    assert "ci" not in await blockers(bot, change_id)
    assert await pending(bot, "github_sync") == []  # settled: no polling


async def test_red_ci_names_the_failing_checks_with_links_and_closes_the_gate(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "build")
    run = github.add_check_run(OWNER, REPO, BEFORE, "unit-tests", conclusion="failure")
    github.add_status(OWNER, REPO, BEFORE, "security/scan", "error",
                      target_url="https://scanner.example.com/r/9")
    change_id = await propose(bot, pr_url=PR_URL)

    text = card_text(bot, change_id)
    assert "*CI*: failing: unit-tests, security/scan" in text
    assert f"<{run['html_url']}|unit-tests>" in text
    assert "<https://scanner.example.com/r/9|security/scan>" in text
    assert "ci" in await blockers(bot, change_id)
    change = await change_row(bot, change_id)
    assert change.ci_detail["failing"] == [
        {"name": "unit-tests", "url": run["html_url"]},
        {"name": "security/scan", "url": "https://scanner.example.com/r/9"},
    ]
    # Every check is kept with its state and link: the evidence pack names each one.
    assert [(c["name"], c["state"]) for c in change.ci_detail["checks"]] == [
        ("build", "success"), ("unit-tests", "failure"), ("security/scan", "error")]
    assert change.ci_detail["checks"][1]["url"] == run["html_url"]
    assert any("CI failed on *CHG-1*" in m["text"] and "unit-tests" in m["text"]
               for m in bot.slack.dms("U0ALICE"))
    [event] = await audit_events(bot, "ci_changed")
    assert event.detail["state"] == "failure"
    assert event.detail["failing"] == ["unit-tests", "security/scan"]


async def test_pending_ci_is_polled_with_backoff_until_it_settles(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "build", status="in_progress", conclusion=None)
    change_id = await propose(bot, pr_url=PR_URL)
    assert "*CI*: checks running" in card_text(bot, change_id)
    assert "*Checks running*: <" in card_text(bot, change_id)
    assert "ci" in await blockers(bot, change_id)

    start = bot.clock.now()
    dues = []
    for _ in range(3):  # still running: read again after 1, 2, 4 minutes
        [poll] = await pending(bot, "github_sync")
        dues.append(poll.due_at - start)
        bot.clock.advance(poll.due_at - bot.clock.now())
        await bot.sweep()
    assert dues == [timedelta(minutes=1), timedelta(minutes=3), timedelta(minutes=7)]

    github.add_check_run(OWNER, REPO, BEFORE, "build")  # finished, green
    [poll] = await pending(bot, "github_sync")
    bot.clock.advance(poll.due_at - bot.clock.now())
    await bot.sweep()
    assert "*CI*: all checks passed" in card_text(bot, change_id)
    assert await pending(bot, "github_sync") == []


async def test_no_checks_yet_is_pending_not_green(bot, github):
    change_id = await propose(bot, pr_url=PR_URL)
    assert (await change_row(bot, change_id)).ci_state == "pending"
    assert "ci" in await blockers(bot, change_id)
    assert len(await pending(bot, "github_sync")) == 1


async def test_github_500_makes_ci_unknown_and_is_retried(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "build")
    github.fail(500, times=1)
    change_id = await propose(bot, pr_url=PR_URL)

    change = await change_row(bot, change_id)
    assert change.ci_state == "unknown"
    assert "GitHub answered with an error (500)" in change.github_error
    text = card_text(bot, change_id)
    assert "*CI*: unknown — GitHub unreachable" in text
    assert "retrying automatically" in text
    assert "ci" in await blockers(bot, change_id)
    [retry] = await pending(bot, "github_sync")
    assert retry.due_at == bot.clock.now() + timedelta(seconds=15)
    assert bot.ctx.metrics.errors.labels(where="listener")._value.get() == 0

    bot.clock.advance(timedelta(seconds=15))
    await bot.sweep()
    change = await change_row(bot, change_id)
    assert change.ci_state == "success"
    assert change.github_error is None
    assert "*CI*: all checks passed" in card_text(bot, change_id)
    assert [e.detail["error"] for e in await audit_events(bot, "github_unreachable")] == [
        "GitHub answered with an error (500); try again in a minute"]


async def test_retries_back_off_while_github_stays_down(bot, github):
    github.fail(502, times=100)
    await propose(bot, pr_url=PR_URL)
    waits = []
    for _ in range(4):
        [retry] = await pending(bot, "github_sync")
        waits.append(retry.due_at - bot.clock.now())
        bot.clock.advance(retry.due_at - bot.clock.now())
        await bot.sweep()
    assert waits == [timedelta(seconds=s) for s in (15, 30, 60, 120)]
    assert len(await audit_events(bot, "github_unreachable")) == 1  # recorded once


async def test_github_timeout_makes_ci_unknown_and_is_retried(db, slack, clock, policy, github):
    github.add_check_run(OWNER, REPO, BEFORE, "build")
    bot = await start(db, slack, clock, policy, github, github_timeout=0.5)
    try:
        github.delay(5)
        change_id = await propose(bot, pr_url=PR_URL)
        change = await change_row(bot, change_id)
        assert change.ci_state == "unknown"
        assert "did not answer within 0.5 s" in change.github_error
        assert "*CI*: unknown — GitHub unreachable" in card_text(bot, change_id)

        github.clear_faults()
        bot.clock.advance(timedelta(seconds=15))
        await bot.sweep()
        assert (await change_row(bot, change_id)).ci_state == "success"
    finally:
        await bot.stop()


async def test_rate_limit_waits_until_the_reset(bot, github):
    github.add_check_run(OWNER, REPO, BEFORE, "build")
    reset = bot.clock.now() + timedelta(minutes=20)
    github.rate_limit(int(reset.timestamp()))
    change_id = await propose(bot, pr_url=PR_URL)
    assert (await change_row(bot, change_id)).ci_state == "unknown"
    assert "rate limit" in (await change_row(bot, change_id)).github_error
    [retry] = await pending(bot, "github_sync")
    assert retry.due_at == reset


async def test_ci_not_required_by_policy(db, slack, clock, github):
    policy = demo_policy(github=GitHubPolicy(require_ci=False))
    bot = await start(db, slack, clock, policy, github)
    try:
        github.add_check_run(OWNER, REPO, BEFORE, "build", conclusion="failure")
        change_id = await propose(bot, pr_url=PR_URL)
        assert "*CI*: not required by policy" in card_text(bot, change_id)
        assert "ci" not in await blockers(bot, change_id)
    finally:
        await bot.stop()
