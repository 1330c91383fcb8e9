"""Step 4 over real HTTP: the security team is asked, decides, and can only be bypassed on
the record."""

from datetime import timedelta

import pytest
from sqlmodel import func, select

from bot.change.actions import editing
from bot.playground.standin.workspace import SECURITY_GROUP, demo_policy
from bot.policy import Review
from bot.security import routing as security_routing
from storage import reminder_store
from storage.models import Approval, AuditEvent, Change, Reminder
from tests.flows import (
    PROPOSAL,
    buttons,
    card,
    card_text,
    click,
    more_options,
    propose,
    thread,
)
from tests.harness import start_bot

MENTION = f"<!subteam^{SECURITY_GROUP}>"
SECURITY_BUTTONS = ["security_approve", "security_request_changes"]


async def count(bot, model, *where) -> int:
    async with bot.ctx.db.session() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return (await session.exec(query)).one()


async def the_change(bot, change_id: int) -> Change:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(Change).where(Change.id == change_id))).one()


async def audit_actions(bot, change_id: int) -> list[tuple[str, str]]:
    async with bot.ctx.db.session() as session:
        events = (await session.exec(
            select(AuditEvent).where(AuditEvent.change_id == change_id)
            .order_by(AuditEvent.id))).all()
    return [(e.action, e.actor) for e in events]


def mentions(bot, change_id: int) -> list[str]:
    return [note for note in thread(bot, change_id) if MENTION in note]


def security_gate(bot, change_id: int) -> str:
    return next(line for line in card(bot, change_id)["blocks"][5]["text"]["text"].splitlines()
                if "*Security review*" in line)


def last_answer(bot, user: str) -> str:
    return bot.slack.responses(user=user)[-1]["text"]


# --- routing ----------------------------------------------------------------------------


async def test_a_crypto_checkbox_gets_the_gate_the_mention_and_the_dms(bot):
    change_id = await propose(bot, security_checkboxes=["crypto"])
    assert ":hourglass_flowing_sand: *Security review*: waiting for the security team" in (
        security_gate(bot, change_id))
    assert "Security review required — touches cryptography (checkbox)" in card_text(
        bot, change_id)
    assert buttons(card(bot, change_id)) == ["change_approve", "change_reject",
                                             *SECURITY_BUTTONS, "change_more"]
    # They say whose they are: the security review's, not the change's approval.
    assert "Security review: approve" in card_text(bot, change_id)
    assert "Security review: request changes" in card_text(bot, change_id)
    [mention] = mentions(bot, change_id)
    assert "needs a security review: touches cryptography (checkbox)" in mention
    [dm] = bot.slack.dms("U0ERIN")
    assert "<@U0ALICE> proposed *CHG-1: Add an index on orders.created_at*" in dm["text"]
    assert "touches cryptography (checkbox)" in dm["text"]
    assert "> Speeds up the month-end orders report" in dm["text"]
    assert "Open CHG-1" in dm["text"]  # the link to the card
    assert ("security_review_requested", "changebot") in await audit_actions(bot, change_id)
    assert (await the_change(bot, change_id)).security_routed_at == bot.clock.now()


async def test_a_change_without_trigger_asks_nobody(bot):
    change_id = await propose(bot)
    assert "*Security review*: not triggered" in security_gate(bot, change_id)
    assert not set(SECURITY_BUTTONS) & set(buttons(card(bot, change_id)))
    assert mentions(bot, change_id) == []
    assert bot.slack.dms("U0ERIN") == []
    assert bot.slack.calls_to("usergroups.users.list") == []


async def test_a_high_risk_change_always_needs_it(bot):
    change_id = await propose(bot, category="high_risk", risk="high")
    assert "waiting for the security team" in security_gate(bot, change_id)
    assert "high-risk change (always)" in card_text(bot, change_id)
    assert len(mentions(bot, change_id)) == 1
    assert len(bot.slack.dms("U0ERIN")) == 1


async def test_a_keyword_in_the_description_fires_with_its_reason(bot):
    change_id = await propose(
        bot, description="Rotate the JWT signing key used by the mobile API.")
    assert "mentions “jwt” (keyword)" in card_text(bot, change_id)
    assert "mentions “jwt” (keyword)" in mentions(bot, change_id)[0]
    assert "mentions “jwt” (keyword)" in bot.slack.dms("U0ERIN")[0]["text"]


async def test_changed_files_of_the_pull_request_route_when_reassessed(bot):
    """What the GitHub integration does once it knows a PR's files: store them in
    pr_info["files"] and call security_routing.reassess in its transaction."""
    change_id = await propose(bot)
    assert mentions(bot, change_id) == []
    async with editing(bot.ctx, change_id) as loaded:
        loaded.change.pr_info = {"files": ["src/auth/login.py", "README.md"]}
        assert await security_routing.reassess(loaded.session, bot.ctx, loaded.change)
    await bot.sweep()
    assert "`auth/` (changed files)" in card_text(bot, change_id)
    assert "waiting for the security team" in security_gate(bot, change_id)
    assert "`auth/` (changed files)" in mentions(bot, change_id)[0]
    assert len(bot.slack.dms("U0ERIN")) == 1
    assert ("security_triggers_changed", "changebot") in await audit_actions(bot, change_id)
    async with editing(bot.ctx, change_id) as loaded:  # same files again: nothing new
        assert not await security_routing.reassess(loaded.session, bot.ctx, loaded.change)


async def test_changed_files_trigger_on_revision(bot):
    change_id = await propose(bot)
    async with bot.ctx.db.session() as session:
        change = await session.get(Change, change_id)
        change.pr_info = {"files": ["infra/terraform/main.tf"]}
    await click(bot, "alice", "change_edit", change_id)
    await bot.submit("alice", bot.slack.opened_views()[-1],
                     {**PROPOSAL, "testing": "Planned with terraform plan."})
    await bot.settle()
    assert "`*.tf` (changed files)" in card_text(bot, change_id)
    [mention] = mentions(bot, change_id)
    assert "needs a security review again (revision 2)" in mention
    assert "<@U0ALICE> revised *CHG-1" in bot.slack.dms("U0ERIN")[0]["text"]


async def test_a_slack_error_on_the_group_lookup_is_retried_and_nothing_is_lost(bot):
    bot.slack.error("usergroups.users.list", "internal_error", times=2)
    # No reviewer: no desk but the author's is republished, and it needs no group lookup.
    change_id = await propose(bot, security_checkboxes=["auth"], reviewers=[])
    assert "Security team not reached yet — retrying" in card_text(bot, change_id)
    assert "waiting for the security team" in security_gate(bot, change_id)
    assert mentions(bot, change_id) == [] and bot.slack.dms("U0ERIN") == []

    bot.clock.advance(timedelta(seconds=14))
    await bot.sweep()  # the backoff (15 s) is not over yet: no new call
    assert len(bot.slack.calls_to("usergroups.users.list")) == 1
    bot.clock.advance(timedelta(seconds=2))
    await bot.sweep()  # second attempt: still failing
    assert len(bot.slack.calls_to("usergroups.users.list")) == 2
    assert "Security team not reached yet — retrying" in card_text(bot, change_id)

    bot.clock.advance(timedelta(seconds=31))  # then 30 s
    await bot.sweep()
    assert len(bot.slack.calls_to("usergroups.users.list")) == 3
    assert len(mentions(bot, change_id)) == 1
    assert len(bot.slack.dms("U0ERIN")) == 1
    assert "not reached" not in card_text(bot, change_id)
    bot.clock.advance(timedelta(hours=1))
    await bot.sweep()  # nothing is sent twice
    assert len(mentions(bot, change_id)) == 1 and len(bot.slack.dms("U0ERIN")) == 1


async def test_the_routing_never_gives_up_while_the_review_waits(bot):
    bot.ctx.sweeper.max_attempts = 2
    bot.slack.error("usergroups.users.list", "internal_error", times=None)
    change_id = await propose(bot, security_checkboxes=["auth"])
    for _ in range(4):
        bot.clock.advance(timedelta(minutes=61))
        await bot.sweep()
    async with bot.ctx.db.session() as session:
        waiting = [r for r in await reminder_store.pending(session, change_id)
                   if r.kind == "security_route"]
    assert len(waiting) == 1 and "internal_error" in waiting[0].last_error
    assert "Security team not reached yet — retrying" in card_text(bot, change_id)
    assert len(bot.slack.calls_to("usergroups.users.list")) >= 4  # tried every hour
    bot.slack.clear_faults()
    bot.clock.advance(timedelta(minutes=61))
    await bot.sweep()
    assert len(mentions(bot, change_id)) == 1 and len(bot.slack.dms("U0ERIN")) == 1


async def test_an_empty_security_group_is_said_on_the_card(bot):
    bot.slack.add_usergroup(SECURITY_GROUP, "security", [])
    change_id = await propose(bot, security_checkboxes=["data"])
    assert ("Security team not reached yet — retrying (the security group has no members)"
            in card_text(bot, change_id))
    bot.slack.add_usergroup(SECURITY_GROUP, "security", ["U0ERIN"])
    bot.clock.advance(timedelta(minutes=6))  # past the directory's cache and the backoff
    await bot.sweep()
    assert len(bot.slack.dms("U0ERIN")) == 1


# --- who may decide ---------------------------------------------------------------------


async def test_a_non_member_click_is_refused_and_not_recorded(bot):
    change_id = await propose(bot, security_checkboxes=["crypto"])
    await click(bot, "bob", "security_approve", change_id)
    refusal = bot.slack.responses(user="U0BOB")[-1]
    assert refusal["response_type"] == "ephemeral"
    assert "Only members of the security team" in refusal["text"]
    opened = len(bot.slack.opened_views())
    await click(bot, "bob", "security_request_changes", change_id)
    assert "Only members of the security team" in last_answer(bot, "U0BOB")
    assert len(bot.slack.opened_views()) == opened  # no modal for him
    assert await count(bot, Approval) == 0
    assert "waiting for the security team" in security_gate(bot, change_id)


async def test_the_author_in_the_group_may_not_approve_their_own_change(bot):
    bot.slack.add_usergroup(SECURITY_GROUP, "security", ["U0ERIN", "U0CAROL"])
    change_id = await propose(bot, user="erin", reviewers=["U0BOB"],
                              security_checkboxes=["auth"])
    assert bot.slack.dms("U0ERIN") == []  # not asked to review her own change
    assert len(bot.slack.dms("U0CAROL")) == 1
    await click(bot, "erin", "security_approve", change_id)
    assert "can't review the security of your own change" in last_answer(bot, "U0ERIN")
    assert await count(bot, Approval) == 0
    await click(bot, "carol", "security_approve", change_id)
    assert "approved by <@U0CAROL>" in security_gate(bot, change_id)


async def test_a_member_approval_opens_the_gate(bot):
    change_id = await propose(bot, security_checkboxes=["crypto"])
    await click(bot, "erin", "security_approve", change_id)
    assert "You approved the security review of CHG-1" in last_answer(bot, "U0ERIN")
    assert ":white_check_mark: *Security review*: approved by <@U0ERIN>" in security_gate(
        bot, change_id)
    assert not set(SECURITY_BUTTONS) & set(buttons(card(bot, change_id)))
    assert ("security_review_approved", "U0ERIN") in await audit_actions(bot, change_id)
    assert any("Security review approved by <@U0ERIN>" in n for n in thread(bot, change_id))
    assert "approved the security review" in bot.slack.dms("U0ALICE")[-1]["text"]
    # It is not a peer approval: the change still needs its reviewer.
    assert "0 of 1 approval" in card_text(bot, change_id)
    assert (await the_change(bot, change_id)).status == "in_review"


async def test_a_second_click_records_one_decision(bot):
    change_id = await propose(bot, security_checkboxes=["crypto"])
    message = card(bot, change_id)  # as it was, with its buttons
    await click(bot, "erin", "security_approve", change_id)
    await bot.click("erin", "security_approve", channel="C0CHANGES", message=message)
    await bot.settle()
    assert "already approved by <@U0ERIN>" in last_answer(bot, "U0ERIN")
    assert await count(bot, Approval) == 1


async def test_a_security_approval_counts_as_peer_when_the_policy_says_so(db, slack, clock):
    policy = demo_policy(review=Review(security_counts_as_peer=True))
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    try:
        change_id = await propose(bot, security_checkboxes=["crypto"])
        await click(bot, "erin", "security_approve", change_id)
        assert "1 of 1 approval" in card_text(bot, change_id)
        assert (await the_change(bot, change_id)).status == "approved"
    finally:
        await bot.stop()


async def test_the_lookup_failing_on_a_click_records_nothing(bot):
    change_id = await propose(bot, security_checkboxes=["crypto"])
    bot.clock.advance(timedelta(minutes=6))  # the cached membership expired
    bot.slack.error("usergroups.users.list", "internal_error")
    await click(bot, "erin", "security_approve", change_id)
    assert "couldn't check with Slack" in last_answer(bot, "U0ERIN")
    assert await count(bot, Approval) == 0


async def test_request_changes_needs_a_reason_and_sends_the_change_back(bot):
    change_id = await propose(bot, security_checkboxes=["crypto"])
    await click(bot, "erin", "security_request_changes", change_id)
    modal = bot.slack.opened_views()[-1]
    assert modal["callback_id"] == "security_request_changes"
    empty = await bot.submit("erin", modal, {"reason": ""})
    assert empty.json()["errors"] == {"reason": "A reason is required."}
    assert await count(bot, Approval) == 0
    done = await bot.submit("erin", modal, {"reason": "Use the KMS key, not a local one."})
    await bot.settle()
    assert done.status == 200 and not done.text.strip()
    change = await the_change(bot, change_id)
    assert change.status == "rejected"
    assert ":x: *Security review*: changes requested" in security_gate(bot, change_id)
    assert "<@U0ERIN> requested changes: Use the KMS key" in card_text(bot, change_id)
    dm = bot.slack.dms("U0ALICE")[-1]["text"]
    assert "requested changes to *CHG-1*: Use the KMS key, not a local one." in dm
    assert any("requested changes: Use the KMS key" in n for n in thread(bot, change_id))
    assert ("security_changes_requested", "U0ERIN") in await audit_actions(bot, change_id)
    assert buttons(card(bot, change_id)) == ["change_edit", "change_more"]
    assert more_options(card(bot, change_id)) == ["change_cancel"]
    # Sent back by the security team: not "Rejected", and no approval was rejected.
    text = card_text(bot, change_id)
    assert "*Status*\\nChanges requested (security)" in text and "Rejected" not in text
    assert "*Approvals*: 0 of 1 approval — on hold until the change is revised" in text

    # The author revises: the review starts again and the team is asked again.
    await click(bot, "alice", "change_edit", change_id)
    await bot.submit("alice", bot.slack.opened_views()[-1],
                     {**PROPOSAL, "security_checkboxes": ["crypto"],
                      "testing": "Now signs with the KMS key."})
    await bot.settle()
    assert (await the_change(bot, change_id)).status == "in_review"
    assert "waiting for the security team" in security_gate(bot, change_id)
    assert len(mentions(bot, change_id)) == 2
    assert "revised *CHG-1" in bot.slack.dms("U0ERIN")[-1]["text"]


# --- override -----------------------------------------------------------------------------


async def test_only_a_tech_lead_overrides_and_only_with_a_reason(bot):
    change_id = await propose(bot, security_checkboxes=["third_party"])
    await bot.command("carol", "override-security CHG-1 the vendor is already approved")
    await bot.settle()
    assert "Only tech leads can override" in last_answer(bot, "U0CAROL")
    reply = await bot.command("dave", "override-security CHG-1")
    assert "Say why the security review is bypassed" in reply.json()["text"]
    reply = await bot.command("dave", "override-security")
    assert "Which change?" in reply.json()["text"]
    assert await count(bot, Approval) == 0
    assert "waiting for the security team" in security_gate(bot, change_id)


async def test_an_override_is_on_the_record_and_shows_as_bypassed(bot):
    change_id = await propose(bot, security_checkboxes=["third_party"])
    await bot.command("dave", "override-security CHG-1 Security team at an offsite; "
                              "vendor already reviewed in SEC-88")
    await bot.settle()
    assert "You overrode the security review of CHG-1" in last_answer(bot, "U0DAVE")
    assert ":warning: *Security review*: overridden by <@U0DAVE>" in security_gate(
        bot, change_id)
    assert "bypassed by <@U0DAVE>: Security team at an offsite" in card_text(bot, change_id)
    async with bot.ctx.db.session() as session:
        decision = (await session.exec(select(Approval))).one()
        event = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "security_review_overridden"))).one()
    assert (decision.kind, decision.decision, decision.actor) == ("security", "overridden",
                                                                  "U0DAVE")
    assert event.actor == "U0DAVE" and "SEC-88" in event.detail["reason"]
    assert any(MENTION in n and "overridden by <@U0DAVE>" in n for n in thread(bot, change_id))
    assert not set(SECURITY_BUTTONS) & set(buttons(card(bot, change_id)))


async def test_a_tech_lead_may_not_override_their_own_change(bot):
    await propose(bot, user="dave", reviewers=["U0BOB"], security_checkboxes=["auth"])
    await bot.command("dave", "override-security CHG-1 in a hurry")
    await bot.settle()
    assert "your own change" in last_answer(bot, "U0DAVE")
    assert await count(bot, Approval) == 0


async def test_help_lists_the_override(bot):
    reply = await bot.command("alice", "help")
    assert "/change override-security CHG-n &lt;reason&gt;" in str(reply.json()["blocks"])


@pytest.mark.parametrize("decision", ["approve", "override"])
async def test_a_decided_review_stops_the_routing_retries(bot, decision):
    bot.slack.error("usergroups.users.list", "internal_error", times=1)
    change_id = await propose(bot, security_checkboxes=["auth"])
    if decision == "override":
        await bot.command("dave", "override-security CHG-1 known false positive")
    else:
        bot.clock.advance(timedelta(minutes=1))
        await click(bot, "erin", "security_approve", change_id)
    await bot.settle()
    assert await count(bot, Approval) == 1
    assert "not reached" not in card_text(bot, change_id)
    bot.clock.advance(timedelta(hours=1))
    await bot.sweep()
    assert not any("needs a security review" in n for n in thread(bot, change_id))
    assert bot.slack.dms("U0ERIN") == []
    assert await count(bot, Reminder, Reminder.kind == "security_route",
                       Reminder.cancelled_at.is_not(None)) == 1


async def test_a_revision_without_trigger_stops_waiting_for_the_team(bot):
    change_id = await propose(bot, security_checkboxes=["crypto"])
    await click(bot, "alice", "change_edit", change_id)
    await bot.submit("alice", bot.slack.opened_views()[-1],
                     {**PROPOSAL, "security_checkboxes": []})
    await bot.settle()
    assert "*Security review*: not triggered" in security_gate(bot, change_id)
    assert not set(SECURITY_BUTTONS) & set(buttons(card(bot, change_id)))
    async with bot.ctx.db.session() as session:
        kinds = {r.kind for r in await reminder_store.pending(session, change_id)}
    assert not kinds & {"security_route", "security_reminder", "security_escalation"}
    bot.clock.advance(timedelta(days=2))
    await bot.sweep()
    assert len(bot.slack.dms("U0ERIN")) == 1  # only the first request
