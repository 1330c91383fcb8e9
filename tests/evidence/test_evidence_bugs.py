"""Evidence the pack got wrong (issue 14): the CI of a commit pushed after the deployment,
approvals of a closed change, and a pack that named people by Slack id only."""

from __future__ import annotations

import io
import json

import pytest

from bot.evidence import witness
from bot.evidence.export import export
from bot.evidence.period import parse_period
from bot.playground.standin.workspace import CHANGES
from storage.models import Approval
from tests.evidence.test_evidence_slack import ask, one_deployed_change
from tests.evidence_history import approve, at, declare_emergency, modal, wait_until
from tests.evidence_history import policy as history_policy
from tests.fake_github import FakeGitHub
from tests.flows import PRODUCTION_CHECKS, buttons, card, click, click_stale, last_answer, propose
from tests.github_flows import (
    BEFORE,
    HEAD,
    NUMBER,
    OWNER,
    PR_URL,
    REPO,
    TOKEN,
    add_example_pull,
    change_row,
    example,
    start,
    webhook,
)
from tests.harness import start_bot

NOVEMBER = parse_period("2026-11-01", "2026-11-30")


@pytest.fixture
def policy():
    return history_policy()


@pytest.fixture
async def github():
    async with FakeGitHub(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(db, slack, clock, policy, github):
    harness = await start(db, slack, clock, policy, github)
    yield harness
    await harness.stop()


async def pack(bot, fmt: str, period=NOVEMBER) -> str:
    out = io.StringIO()
    await export(bot.ctx.db, bot.ctx.policy, period, fmt, out, now=bot.clock.now())
    return out.getvalue()


async def test_the_ci_section_describes_the_deployed_commit_not_a_later_push(bot, github):
    """Deployed at BEFORE with green CI; HEAD pushed afterwards, its CI still running."""
    add_example_pull(github)
    github.add_check_run(OWNER, REPO, BEFORE, "build")
    await wait_until(bot, at(25, 10))
    change_id = await propose(bot, "alice", pr_url=PR_URL)
    await approve(bot, "bob", change_id, at(25, 10, 10))
    await wait_until(bot, at(25, 10, 30))
    await click(bot, "alice", "change_staging_deployed", change_id)
    await modal(bot, "alice", "change_staging_verify", change_id, at(25, 11), {
        "checks": ["functional", "performance", "no_breaking_changes"], "notes": None})
    await modal(bot, "alice", "change_deploy", change_id, at(25, 11, 30),
                {"method": "blue_green", "notes": None})

    github.add_check_run(OWNER, REPO, HEAD, "build", status="in_progress", conclusion=None)
    github.set_head(OWNER, REPO, NUMBER, HEAD)
    await wait_until(bot, at(25, 11, 40))
    reply = await webhook(bot, "pull_request", example("pull_request/synchronize"))
    assert reply.status == 200, reply.text
    assert (await change_row(bot, change_id)).head_sha == HEAD

    [record] = json.loads(await pack(bot, "json"))["changes"]
    assert [e["rule"] for e in record["exceptions"]] == []  # not "CI still running at HEAD"
    ci = record["ci"]
    assert (ci["state"], ci["head_sha"], ci["head_now"], ci["state_now"]) == (
        "success", BEFORE, HEAD, "pending")
    # The commits that went out, with what was given on them.
    assert [(c["sha"], c["deployed"], c["reviews"]) for c in record["commits"]] == [
        (BEFORE, True, ["U0BOB peer approved 2026-11-25T10:10:00+00:00 (Slack)"])]
    text = await pack(bot, "md")
    assert (f"- **CI**: success at `{BEFORE}` when it was deployed — [build](https://github.com/"
            f"{OWNER}/{REPO}/runs/1001) success (last read 2026-11-25 10:00 UTC)") in text
    assert (f"  - Since then the pull request moved to `{HEAD}` (CI pending): not deployed by "
            "this change") in text
    assert "- **Commits of the pull request** (each head it was pushed at):" in text
    assert (f"  - `{BEFORE}` (deployed): U0BOB peer approved 2026-11-25T10:10:00+00:00 "
            "(Slack)") in text


async def closed_emergency(bot) -> int:
    """Deployed at 02:10, approved by Bob at 02:30, verified (completed) at 03:15, after
    the high-risk monitoring window of an emergency."""
    await wait_until(bot, at(28, 2))
    change_id = await declare_emergency(bot, "alice", {
        "impact": "Card payments failing.", "description": "Hotfix: null amounts",
        "rollback_plan": "Revert.", "pr_url": None, "involved": []})
    await modal(bot, "alice", "change_deploy", change_id, at(28, 2, 10),
                {"method": "rolling", "notes": None})
    await approve(bot, "bob", change_id, at(28, 2, 30))
    await modal(bot, "alice", "change_verify", change_id, at(28, 3, 15),
                {"checks": PRODUCTION_CHECKS, "notes": None})
    assert (await change_row(bot, change_id)).status == "completed"
    return change_id


async def test_an_approval_of_a_closed_change_is_refused_and_never_counted(bot):
    change_id = await closed_emergency(bot)
    await wait_until(bot, at(28, 3, 30))
    assert "change_approve" not in buttons(card(bot, change_id))  # the card offers none
    await click_stale(bot, "carol", "change_approve", change_id)  # a card seen before
    assert last_answer(bot, "carol") == (
        "This change is completed: it is closed, so approvals are closed.")
    [record] = json.loads(await pack(bot, "json"))["changes"]
    assert [a["who"] for a in record["approvals"]] == ["U0BOB"]

    # One given after the change closed (as before this fix) is listed, not counted.
    async with bot.ctx.db.session() as session:
        session.add(Approval(change_id=change_id, revision=1, kind="peer",
                             decision="approved", actor="U0DAVE", user_id="U0DAVE",
                             created_at=at(28, 4)))
    [record] = json.loads(await pack(bot, "json"))["changes"]
    assert [(a["who"], a["counted"]) for a in record["approvals"]] == [
        ("U0BOB", True), ("U0DAVE", False)]
    assert record["segregation"]["approvers"] == ["U0BOB"]  # 1 of 1, not "2 of 1"


async def test_an_emergency_may_still_be_approved_once_closed_if_it_waited_for_it(bot):
    await wait_until(bot, at(28, 2))
    change_id = await declare_emergency(bot, "alice", {
        "impact": "Down.", "description": "Restart", "rollback_plan": "None.",
        "pr_url": None, "involved": []})
    await modal(bot, "alice", "change_deploy", change_id, at(28, 2, 10),
                {"method": "rolling", "notes": None})
    await modal(bot, "alice", "change_verify", change_id, at(28, 3, 15),
                {"checks": PRODUCTION_CHECKS, "notes": None})
    await approve(bot, "bob", change_id, at(28, 3, 30))
    [record] = json.loads(await pack(bot, "json"))["changes"]
    assert [(a["who"], a["counted"]) for a in record["approvals"]] == [("U0BOB", True)]
    assert [(e["rule"], e["kind"]) for e in record["exceptions"]][0] == (
        "approvals", "bypassed")  # within the policy's 4 h


async def test_the_pack_names_people_uses_the_bots_clock_and_is_witnessed(db, slack, clock):
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=history_policy())
    try:
        await one_deployed_change(bot)  # the clock ends at 2026-12-01 09:00
        await ask(bot, "dave", "evidence 2026-11-01 2026-11-30")
        [upload] = bot.slack.uploaded_files()
        text = upload["content"].decode()
        assert "generated 2026-12-01 09:00 UTC by Changebot" in text
        assert "proposed by Alice Engineer (U0ALICE) on 2026-11-25 10:00 UTC" in text
        assert "| Bob Reviewer (U0BOB) | peer | approved |" in text
        assert "- **Production deployment**: 2026-11-25 11:00 UTC by Alice Engineer (U0ALICE)" \
            in text

        # The export posted the head it names to the audit channel ...
        [posted] = [m for m in bot.slack.messages(CHANGES)
                    if (m.get("metadata") or {}).get("event_type") == witness.METADATA_TYPE]
        payload = posted["metadata"]["event_payload"]
        assert posted["text"].startswith(
            f":lock: Audit checkpoint (evidence export): {payload['events']} events, head "
            f"`{payload['head']}` at 2026-12-01 09:00 UTC")
        # ... and the pack of December names it.
        december = await pack(bot, "md", parse_period("2026-12-01", "2026-12-31"))
        assert (f"- **Witnessed in Slack**: 1 checkpoint(s) of the audit log in the period: "
                f"2026-12-01 09:00 UTC, {payload['events']} events, head `{payload['head']}` "
                f"(message {posted['ts']} in {CHANGES})") in december
    finally:
        await bot.stop()
