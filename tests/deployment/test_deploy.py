"""Steps 5–8 over real HTTP: staging, production, the monitoring window and rollback."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from bot.playground.standin.workspace import SECURITY_GROUP, TECH_LEADS_GROUP, demo_policy
from bot.policy import BusinessHours, Groups
from storage import reminder_store
from storage.models import Approval, AuditEvent, Change
from tests.flows import (
    PRODUCTION_CHECKS,
    STAGING_CHECKS,
    approved,
    buttons,
    card,
    card_text,
    click,
    click_dm,
    click_stale,
    deployed,
    dms,
    fill,
    last_answer,
    last_view,
    more_options,
    staged,
    step,
    thread,
)
from tests.harness import start_bot

SATURDAY_10AM = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
THANKSGIVING_10AM = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday, a US holiday
DEPLOYERS = "S0DEPLOYERS"


async def the_change(bot, change_id: int) -> Change:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(Change).where(Change.id == change_id))).one()


async def actions(bot, change_id: int) -> list[str]:
    async with bot.ctx.db.session() as session:
        events = (await session.exec(select(AuditEvent).where(
            AuditEvent.change_id == change_id).order_by(col(AuditEvent.id)))).all()
    return [e.action for e in events]


async def audit_of(bot, action: str) -> AuditEvent:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(AuditEvent).where(AuditEvent.action == action))).one()


async def audit_count(bot) -> int:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(func.count()).select_from(AuditEvent))).one()


def window_dms(bot, user: str = "alice") -> list[dict]:
    return [m for m in dms(bot, user) if "monitoring window" in m["text"]]


async def security_approved(bot, change_id: int) -> None:
    """Erin's security approval, recorded as Step 4 records it (its buttons are elsewhere)."""
    async with bot.ctx.db.session() as session:
        session.add(Approval(change_id=change_id, revision=1, kind="security",
                             decision="approved", actor="U0ERIN", user_id="U0ERIN",
                             created_at=bot.clock.now()))


async def ready(bot, **fields) -> int:
    change_id = await approved(bot, **fields)
    await staged(bot, change_id)
    return change_id


@pytest.fixture
async def deployers_bot(db, slack, clock):
    """The bot with a deployers group (carol) besides each change's author."""
    slack.add_usergroup(DEPLOYERS, "deployers", ["U0CAROL"])
    policy = demo_policy(groups=Groups(security=SECURITY_GROUP, tech_leads=TECH_LEADS_GROUP,
                                       deployers=DEPLOYERS))
    harness = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    yield harness
    await harness.stop()


# ---- the whole path ------------------------------------------------------------------------


async def test_approved_to_staging_to_production_to_verified_and_completed(bot):
    change_id = await approved(bot)
    # Only what applies now: staging is next; Edit and Cancel wait in the overflow menu.
    assert buttons(card(bot, change_id)) == ["change_staging_deployed", "change_more"]

    await click(bot, "alice", "change_staging_deployed", change_id)
    assert (await the_change(bot, change_id)).status == "staging"
    assert "change_staging_verify" in buttons(card(bot, change_id))
    assert any("deployed it to staging" in note for note in thread(bot, change_id))

    await click(bot, "alice", "change_staging_verify", change_id)
    modal = last_view(bot)
    assert modal["callback_id"] == "change_staging_verified"
    half = await fill(bot, "alice", {"checks": ["functional"], "notes": None})
    assert "no breaking changes" in half.json()["errors"]["checks"]
    assert (await the_change(bot, change_id)).status == "staging"
    done = await fill(bot, "alice", {"checks": STAGING_CHECKS + ["performance"],
                                     "notes": "Load test at 2x peak: p99 unchanged."})
    assert done.status == 200 and not done.text.strip()
    change = await the_change(bot, change_id)
    assert change.status == "ready"
    assert change.staging_validation["checks"] == ["functional", "performance",
                                                   "no_breaking_changes"]
    assert ":white_check_mark: *Staging*: validated in staging" in card_text(bot, change_id)

    await click(bot, "alice", "change_deploy", change_id)
    modal = last_view(bot)
    assert modal["callback_id"] == "change_deploy"
    method = next(b for b in modal["blocks"] if b.get("block_id") == "method")
    assert [o["value"] for o in method["element"]["options"]] == [
        "blue_green", "rolling", "feature_flag", "other"]
    assert "Manual deployment" not in str(modal)
    reply = await fill(bot, "alice", {"method": "rolling", "notes": None})
    assert reply.status == 200 and not reply.text.strip()

    deployed_at = bot.clock.now()
    ends = deployed_at + timedelta(minutes=30)
    change = await the_change(bot, change_id)
    assert change.status == "monitoring"
    assert (change.deployed_at, change.deployed_by, change.deploy_method) == (
        deployed_at, "U0ALICE", "rolling")
    assert change.monitoring_ends_at == ends
    text = card_text(bot, change_id)
    assert f"Monitoring window ends <!date^{int(ends.timestamp())}^" in text
    assert "Deployed — monitoring" in text
    assert any("deployed it to production (Rolling)" in n and f"<!date^{int(ends.timestamp())}"
               in n for n in thread(bot, change_id))
    event = await audit_of(bot, "deployed_to_production")
    assert (event.actor, event.at, event.detail["method"]) == ("U0ALICE", deployed_at,
                                                                "rolling")
    assert event.detail["gates"]["business_hours"] == "met"

    # Verifying before the window is over is refused, and changes nothing.
    await click(bot, "alice", "change_verify", change_id)
    assert "Keep monitoring until" in last_answer(bot, "alice")
    assert (await the_change(bot, change_id)).status == "monitoring"

    bot.clock.advance(timedelta(minutes=29))
    await bot.sweep()
    assert window_dms(bot) == []
    bot.clock.advance(timedelta(minutes=1))
    await bot.sweep()
    [dm] = window_dms(bot)
    assert dm["text"] == f"Your monitoring window for CHG-{change_id} has ended."
    assert "Open CHG-1" in str(dm["blocks"])
    assert buttons(dm) == ["change_verify", "change_rollback", "reminder_snooze_window_30",
                          "reminder_snooze_window_60"]

    await click_dm(bot, "alice", "change_verify", dm)
    assert last_view(bot)["callback_id"] == "change_verified"
    partial = await fill(bot, "alice", {"checks": ["logs"], "notes": None})
    assert "metrics" in partial.json()["errors"]["checks"]
    assert (await the_change(bot, change_id)).status == "monitoring"
    closed = await fill(bot, "alice", {"checks": PRODUCTION_CHECKS,
                                       "notes": "Error rate flat, p99 -30 ms."})
    assert closed.status == 200 and not closed.text.strip()

    change = await the_change(bot, change_id)
    assert change.status == "completed"
    assert change.verification == {"checks": PRODUCTION_CHECKS, "by": "U0ALICE",
                                   "notes": "Error rate flat, p99 -30 ms."}
    text = card_text(bot, change_id)
    assert "Completed" in text and "Verified in production by <@U0ALICE>" in text
    # Closed: nothing on the card but "…", where a rollback (rarely needed now) still is.
    assert buttons(card(bot, change_id)) == ["change_more"]
    assert more_options(card(bot, change_id)) == ["change_rollback"]
    assert any("verified it in production" in n for n in thread(bot, change_id))
    async with bot.ctx.db.session() as session:
        assert await reminder_store.pending(session, change_id) == []

    bot.clock.advance(timedelta(hours=2))  # the grace passes: nothing chases a closed change
    await bot.sweep()
    assert len(window_dms(bot)) == 1
    assert await actions(bot, change_id) == [
        "proposed", "approval_given", "approved", "staging_deployed", "staging_verified",
        "deployed_to_production", "watch_started", "verified_in_production",
    ]


async def test_no_verification_within_the_grace_sends_a_second_reminder_and_a_note(bot):
    change_id = await ready(bot)
    await deployed(bot, change_id)
    bot.clock.advance(timedelta(minutes=30))
    await bot.sweep()
    assert len(window_dms(bot)) == 1
    bot.clock.advance(timedelta(minutes=29))
    await bot.sweep()
    assert len(window_dms(bot)) == 1
    bot.clock.advance(timedelta(minutes=1))
    await bot.sweep()
    first, second = window_dms(bot)
    assert second["text"].startswith(
        f"Reminder: your monitoring window for CHG-{change_id} ended 30 min ago")
    assert buttons(second) == ["change_verify", "change_rollback"]
    [note] = [n for n in thread(bot, change_id) if "is not verified yet" in n]
    assert "ended 30 min ago" in note and "<@U0ALICE>" in note
    assert "verification_overdue" in await actions(bot, change_id)
    bot.clock.advance(timedelta(hours=3))
    await bot.sweep()
    assert len(window_dms(bot)) == 2  # chased once, not forever
    await click_dm(bot, "alice", "change_verify", second)
    await fill(bot, "alice", {"checks": PRODUCTION_CHECKS, "notes": None})
    assert (await the_change(bot, change_id)).status == "completed"


async def test_high_risk_is_marked_manual_deployment_and_monitored_an_hour(bot):
    change_id = await approved(bot, category="high_risk", risk="high")
    await click(bot, "carol", "change_approve", change_id)
    await click(bot, "dave", "change_approve", change_id)
    assert (await the_change(bot, change_id)).status == "approved"
    assert "*Manual deployment*" in card_text(bot, change_id)
    await security_approved(bot, change_id)  # high-risk: a security review, always
    await click(bot, "alice", "change_staging_deployed", change_id)
    await step(bot, "alice", "change_staging_verify", change_id,
               {"checks": STAGING_CHECKS + ["security"], "notes": None})
    await click(bot, "alice", "change_deploy", change_id)
    assert "Manual deployment" in str(last_view(bot))
    await fill(bot, "alice", {"method": "blue_green", "notes": None})
    change = await the_change(bot, change_id)
    assert change.monitoring_ends_at == bot.clock.now() + timedelta(minutes=60)
    assert (await audit_of(bot, "deployed_to_production")).detail["manual"] is True
    assert any("(Blue/green, manual deployment)" in n for n in thread(bot, change_id))
    bot.clock.advance(timedelta(minutes=30))
    await bot.sweep()
    assert window_dms(bot) == []
    bot.clock.advance(timedelta(minutes=30))
    await bot.sweep()
    assert len(window_dms(bot)) == 1


# ---- refusals ------------------------------------------------------------------------------


async def test_a_deploy_outside_business_hours_is_refused_with_its_reason(bot):
    change_id = await ready(bot)
    bot.clock.set(SATURDAY_10AM)
    views, events = len(bot.slack.opened_views()), await audit_count(bot)
    await click(bot, "alice", "change_deploy", change_id)
    answer = last_answer(bot, "alice")
    assert "CHG-1 was not deployed: 1 gate is not met." in answer
    assert ("*Business hours*: outside business hours (Mon–Fri 09:00–17:00 UTC) — to open "
            "it: deploy after Mon 30 Nov 09:00 UTC") in answer
    assert "Nothing was changed." in answer
    assert len(bot.slack.opened_views()) == views  # no modal
    assert (await the_change(bot, change_id)).status == "ready"
    assert await audit_count(bot) == events


async def test_the_gates_are_checked_again_when_the_deploy_is_submitted(bot):
    change_id = await ready(bot)
    bot.clock.set(datetime(2026, 11, 27, 16, 58, tzinfo=UTC))  # Friday, 2 minutes to close
    await click(bot, "alice", "change_deploy", change_id)
    bot.clock.advance(timedelta(minutes=3))  # the form took a while
    events = await audit_count(bot)
    reply = await fill(bot, "alice", {"method": "blue_green", "notes": None})
    error = reply.json()["errors"]["method"]
    assert "outside business hours" in error and "deploy after Mon 30 Nov 09:00 UTC" in error
    assert (await the_change(bot, change_id)).status == "ready"
    assert await audit_count(bot) == events


async def test_every_unmet_gate_is_listed_with_what_would_open_it(bot):
    change_id = await approved(bot, security_checkboxes=["auth"],
                               pr_url="https://github.com/acme/api/pull/12")
    bot.clock.set(SATURDAY_10AM)
    assert "change_deploy" not in buttons(card(bot, change_id))  # not its step yet
    await click_stale(bot, "alice", "change_deploy", change_id)
    answer = last_answer(bot, "alice")
    assert "was not deployed: 4 gates are not met." in answer
    for line in (
        "• *CI*: unknown — GitHub is not connected (no GITHUB_TOKEN) — to open it: connect "
        "GitHub (GITHUB_TOKEN), or turn off github.require_ci in the policy",
        "• *Security review*: waiting for the security team — to open it: an approval from "
        "the security team",
        "• *Staging*: not validated in staging yet — to open it: deploy to staging and mark "
        "it verified",
        "• *Business hours*: outside business hours (Mon–Fri 09:00–17:00 UTC) — to open it: "
        "deploy after Mon 30 Nov 09:00 UTC",
    ):
        assert line in answer
    assert "Approvals" not in answer  # that gate is met
    assert (await the_change(bot, change_id)).status == "approved"


async def test_public_holidays_of_the_policy_country_are_closed(db, slack, clock):
    clock.set(THANKSGIVING_10AM)
    policy = demo_policy(business_hours=BusinessHours(holidays_country="US"))
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    try:
        change_id = await ready(bot)
        await click(bot, "alice", "change_deploy", change_id)
        answer = last_answer(bot, "alice")
        assert "except US public holidays" in answer
        assert "deploy after Fri 27 Nov 09:00 UTC" in answer
        assert (await the_change(bot, change_id)).status == "ready"
    finally:
        await bot.stop()


async def test_only_the_author_may_stage_deploy_verify_or_roll_back(bot):
    change_id = await approved(bot)
    await click(bot, "bob", "change_staging_deployed", change_id)
    assert "Only the author (<@U0ALICE>) or a member of the deployers group" in last_answer(
        bot, "bob")
    await staged(bot, change_id)
    await click(bot, "bob", "change_deploy", change_id)
    assert "Only the author" in last_answer(bot, "bob")
    await deployed(bot, change_id)
    await click(bot, "bob", "change_rollback", change_id)
    assert "Only the author" in last_answer(bot, "bob")
    assert (await the_change(bot, change_id)).status == "monitoring"


async def test_a_deployer_may_do_the_steps_and_the_requester_is_told_of_a_rollback(
    deployers_bot,
):
    bot = deployers_bot
    change_id = await approved(bot)
    await staged(bot, change_id, user="carol")
    await deployed(bot, change_id, user="carol")
    change = await the_change(bot, change_id)
    assert (change.status, change.deployed_by) == ("monitoring", "U0CAROL")
    bot.clock.advance(timedelta(minutes=30))
    await bot.sweep()
    assert len(window_dms(bot, "carol")) == 1  # the engineer who deployed watches it
    await step(bot, "carol", "change_rollback", change_id,
               {"trigger": "performance", "method": "previous_image", "notes": None})
    told = dms(bot, "alice")[-1]["text"]
    assert "<@U0CAROL> is rolling back *CHG-1*: Performance degradation — Previous image." in told


async def test_when_slack_cannot_say_who_deploys_only_the_author_may_act(deployers_bot):
    bot = deployers_bot
    change_id = await approved(bot)
    bot.slack.error("usergroups.users.list", "fatal_error", times=None)
    await click(bot, "carol", "change_staging_deployed", change_id)
    assert "couldn't check with Slack whether you are in the deployers group" in last_answer(
        bot, "carol")
    assert (await the_change(bot, change_id)).status == "approved"
    await click(bot, "alice", "change_staging_deployed", change_id)
    assert (await the_change(bot, change_id)).status == "staging"


async def test_a_revision_after_staging_needs_staging_again(bot):
    change_id = await ready(bot)
    await step(bot, "alice", "change_edit", change_id, {
        "title": "Add an index on orders.created_at", "description": "Now with a partial index.",
        "category": "normal", "risk": "medium", "rollback_plan": "Drop the index.",
        "testing": "Snapshot again.", "reviewers": ["U0BOB"],
    })
    await click(bot, "bob", "change_approve", change_id)
    assert (await the_change(bot, change_id)).status == "approved"
    assert buttons(card(bot, change_id)) == ["change_staging_deployed", "change_more"]
    await click_stale(bot, "alice", "change_deploy", change_id)
    assert "*Staging*: not validated in staging yet" in last_answer(bot, "alice")


# ---- rollback ------------------------------------------------------------------------------


async def test_rollback_records_start_and_end_so_its_duration_is_known(bot):
    change_id = await ready(bot)
    await deployed(bot, change_id)
    bot.clock.advance(timedelta(minutes=10))
    await click(bot, "alice", "change_rollback", change_id)
    modal = last_view(bot)
    assert modal["callback_id"] == "change_rollback"
    no_notes = await fill(bot, "alice", {"trigger": "other", "method": "revert"})
    assert "Other" in no_notes.json()["errors"]["notes"]
    assert (await the_change(bot, change_id)).status == "monitoring"
    started = bot.clock.now()
    reply = await fill(bot, "alice", {"trigger": "errors", "method": "revert",
                                      "notes": "500s on /orders.\n<!channel> stop deploys"})
    assert reply.status == 200 and not reply.text.strip()

    change = await the_change(bot, change_id)
    assert change.status == "rolled_back"
    assert change.rollback_started_at == started and change.rollback_finished_at is None
    assert change.rollback["trigger"] == "errors" and change.rollback["by"] == "U0ALICE"
    assert buttons(card(bot, change_id)) == ["change_rollback_finished"]
    assert "Rollback started" in card_text(bot, change_id)
    assert any("started a rollback: Application errors or crashes — Revert commit and "
               "redeploy.\n> 500s on /orders.\n> &lt;!channel&gt; stop deploys" in n
               for n in thread(bot, change_id))  # quoted, and no @channel from a note
    async with bot.ctx.db.session() as session:  # only a rollback running too long is chased
        assert {r.kind for r in await reminder_store.pending(session, change_id)} == {
            "rollback_overdue", "rollback_escalation"}

    bot.clock.advance(timedelta(minutes=12, seconds=30))
    await click(bot, "alice", "change_rollback_finished", change_id)
    async with bot.ctx.db.session() as session:
        assert await reminder_store.pending(session, change_id) == []
    change = await the_change(bot, change_id)
    assert change.rollback_finished_at - change.rollback_started_at == timedelta(
        minutes=12, seconds=30)
    assert "took 12 min 30 s" in card_text(bot, change_id)
    assert buttons(card(bot, change_id)) == []
    assert (await audit_of(bot, "rollback_finished")).detail == {"duration_seconds": 750}
    assert any("finished the rollback: it took 12 min 30 s" in n
               for n in thread(bot, change_id))

    # The window's end passes: the rolled-back change is not chased.
    bot.clock.advance(timedelta(hours=2))
    await bot.sweep()
    assert window_dms(bot) == []
    assert (await actions(bot, change_id))[-2:] == ["rollback_started", "rollback_finished"]


async def test_roll_back_from_the_window_end_dm(bot):
    change_id = await ready(bot)
    await deployed(bot, change_id)
    bot.clock.advance(timedelta(minutes=30))
    await bot.sweep()
    [dm] = window_dms(bot)
    await click_dm(bot, "alice", "change_rollback", dm)
    reply = await fill(bot, "alice", {"trigger": "failed_verification",
                                      "method": "feature_flag_off", "notes": None})
    assert reply.status == 200 and not reply.text.strip()
    assert (await the_change(bot, change_id)).status == "rolled_back"
    # A second press of the DM's Verified button is refused: the change is over.
    await click_dm(bot, "alice", "change_verify", dm)
    assert "rolled back" in last_answer(bot, "alice")
    bot.clock.advance(timedelta(hours=1))
    await bot.sweep()
    assert len(window_dms(bot)) == 1  # no grace reminder after a rollback


async def test_a_change_not_in_production_cannot_be_rolled_back(bot):
    change_id = await ready(bot)
    message = card(bot, change_id)
    await deployed(bot, change_id)
    await step(bot, "alice", "change_rollback", change_id,
               {"trigger": "errors", "method": "revert", "notes": None})
    rolling_back = card(bot, change_id)
    await click(bot, "alice", "change_rollback_finished", change_id)
    events = await audit_count(bot)
    await bot.click("alice", "change_rollback_finished", channel="C0CHANGES",
                    message=rolling_back)  # a double click
    await bot.settle()
    assert "already marked finished" in last_answer(bot, "alice")
    # A stale card still showing "Deploy to production": refused, nothing recorded.
    await bot.click("alice", "change_deploy", channel="C0CHANGES", message=message)
    await bot.settle()
    assert "rolled back" in last_answer(bot, "alice")
    assert await audit_count(bot) == events


async def test_after_deployment_the_card_shows_the_gates_as_they_stood_at_deploy_time(bot):
    change_id = await approved(bot)
    await staged(bot, change_id)
    await deployed(bot, change_id)  # Wednesday 10:00, inside business hours
    bot.clock.advance(timedelta(hours=12))  # 22:00: verified at night
    await step(bot, "alice", "change_verify", change_id,
               {"checks": PRODUCTION_CHECKS, "notes": None})
    text = card_text(bot, change_id)
    assert "Completed" in text
    assert "*Business hours*: inside business hours" in text
