"""Emergency changes over real HTTP: broadcast, deploy at once, approval after, retrospective."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.app import close_context, create_context
from bot.overview.desk_refresh import COALESCE as DESK_SLOT
from bot.playground.standin.workspace import ENGINEERING, demo_policy, person
from bot.policy import Emergency
from bot.settings import Config
from storage import reminder_store
from storage.db import Database
from storage.models import AuditEvent, Change, Reminder
from tests.fake_github import FakeGitHub
from tests.flows import (
    PRODUCTION_CHECKS,
    buttons,
    card,
    card_text,
    cards,
    click,
    click_dm,
    click_stale,
    deployed,
    dms,
    fill,
    last_answer,
    last_view,
    more_options,
    open_modal,
    step,
    thread,
)
from tests.harness import start_bot

SATURDAY_3AM = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
PR_URL = "https://github.com/acme/api/pull/12"
EMERGENCY = {
    "impact": "Checkout answers 500 for every EU customer since 02:40.",
    "description": "Revert the connection-pool change of #4512\nIt exhausted the DB "
                   "connections at peak.",
    "rollback_plan": "Re-apply #4512 (revert the revert) and redeploy.",
    "pr_url": None,
    "involved": ["U0CAROL"],
}
RETROSPECTIVE = {
    "document": "https://wiki.example.com/incidents/42",
    "root_cause": "The pool size was set per process, not per host.",
    "follow_ups": "Load test pool changes (OPS-77, carol).",
}


async def declare(bot, user: str = "alice", **fields) -> int:
    """`/change emergency`, fill the modal, submit it; returns the change's number."""
    view = await open_modal(bot, user, "emergency")
    assert view["callback_id"] == "change_emergency"
    reply = await bot.submit(user, view, {**EMERGENCY, **fields})
    await bot.settle()
    assert reply.status == 200 and not reply.text.strip(), f"modal not closed: {reply.text}"
    return len(cards(bot))


async def in_production(bot, user: str = "alice", **fields) -> int:
    change_id = await declare(bot, user, **fields)
    await deployed(bot, change_id, user)
    return change_id


async def the_change(bot, change_id: int) -> Change:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(Change).where(Change.id == change_id))).one()


async def events(bot, change_id: int, action: str | None = None) -> list[AuditEvent]:
    async with bot.ctx.db.session() as session:
        query = select(AuditEvent).where(AuditEvent.change_id == change_id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list((await session.exec(query.order_by(col(AuditEvent.id)))).all())


def broadcasts(bot) -> list[dict]:
    return [m for m in bot.slack.messages(ENGINEERING) if not m.get("thread_ts")]


def broadcast_thread(bot) -> list[str]:
    [post] = broadcasts(bot)
    return [m["text"] for m in bot.slack.messages(ENGINEERING)
            if m.get("thread_ts") == post["ts"] and m["ts"] != post["ts"]]


def dm_texts(bot, user: str) -> list[str]:
    return [m["text"] for m in dms(bot, user)]


def retro_dms(bot, user: str = "alice") -> list[str]:
    """The retrospective reminders (before it is due, and when it is)."""
    return [t for t in dm_texts(bot, user) if "the retrospective of the emergency" in t.lower()]


def another_process(bot):
    """A restarted bot: same configuration, database and Slack; its own everything."""
    return create_context(Config(bot.ctx.settings, bot.ctx.policy), clock=bot.clock,
                          db=Database(bot.ctx.db.url))


# ---- 1. /change emergency and 2. the broadcast ------------------------------------------------


async def test_an_emergency_is_broadcast_in_engineering_with_here_and_the_rollback_plan(bot):
    modal = await open_modal(bot, "alice", "emergency")
    assert [b.get("block_id") for b in modal["blocks"] if b["type"] == "input"] == [
        "impact", "description", "rollback_plan", "pr_url", "service", "fixes", "involved"]
    assert "<#C0ENGINEERING> with @here" in str(modal["blocks"][0])
    reply = await bot.submit("alice", modal, {**EMERGENCY, "pr_url": PR_URL})
    await bot.settle()
    assert reply.status == 200 and not reply.text.strip()

    change = await the_change(bot, 1)
    assert (change.category, change.status, change.title) == (
        "emergency", "in_review", "Revert the connection-pool change of #4512")
    assert (change.impact, change.involved) == (EMERGENCY["impact"], ["U0CAROL"])
    [post] = broadcasts(bot)
    assert (change.broadcast_channel, change.broadcast_ts) == (ENGINEERING, post["ts"])
    assert post["text"].startswith("<!here> EMERGENCY CHG-1 by <@U0ALICE>")
    blocks = str(post["blocks"])
    for expected in ("<!here> :rotating_light: *EMERGENCY*", "<@U0ALICE>",
                     EMERGENCY["impact"], "Revert the connection-pool change",
                     "*Rollback plan*\\nRe-apply #4512 (revert the revert) and redeploy.",
                     f"<{PR_URL}>", "<@U0CAROL>", "|Open CHG-1>"):
        assert expected in blocks, expected

    text = card_text(bot, 1)
    assert "*Category*\\nEmergency" in text
    assert ":heavy_minus_sign: *Staging*: not required for emergency changes" in text
    assert ":heavy_minus_sign: *Business hours*: not required for emergency changes" in text
    assert "0 of 1 approval — may come after deployment" in text
    assert "broken or at risk: Checkout answers 500" in text
    assert "change_deploy" in buttons(card(bot, 1))
    assert "change_retrospective" not in buttons(card(bot, 1))
    assert [e.action for e in await events(bot, 1)] == ["proposed", "emergency_declared"]
    assert any("is open and announced in the engineering channel" in t
               for t in dm_texts(bot, "alice"))


async def test_the_broadcast_waits_for_the_card_and_is_posted_once(bot):
    bot.slack.error("chat.postMessage", "internal_error")  # the card's first post fails
    await declare(bot)
    assert cards(bot) == [] and broadcasts(bot) == []
    bot.clock.advance(timedelta(seconds=16))  # the card's retry (the broadcast waited)
    await bot.sweep()
    assert len(cards(bot)) == 1
    [post] = broadcasts(bot)
    assert "|Open CHG-1>" in str(post["blocks"])
    bot.clock.advance(timedelta(minutes=5))
    await bot.sweep()
    assert len(broadcasts(bot)) == 1


async def test_the_policy_can_turn_off_here(db, slack, clock):
    policy = demo_policy(emergency=Emergency(mention_here=False))
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    try:
        await declare(bot)
        [post] = broadcasts(bot)
        assert post["text"].startswith("EMERGENCY CHG-1")
        assert "<!here>" not in post["text"] + str(post["blocks"])
    finally:
        await bot.stop()


async def test_a_bad_emergency_form_is_answered_under_its_fields_and_opens_nothing(bot):
    view = await open_modal(bot, "alice", "emergency")
    reply = await bot.submit("alice", view, {**EMERGENCY, "impact": None,
                                             "pr_url": "github.com/acme"})
    await bot.settle()
    errors = reply.json()["errors"]
    assert errors["impact"] == "This is required."
    assert "https://github.com/acme/api/pull/123" in errors["pr_url"]
    assert cards(bot) == [] and broadcasts(bot) == []


async def test_a_retried_submission_opens_one_emergency(bot):
    view = await open_modal(bot, "alice", "emergency")
    for _ in range(2):
        reply = await bot.submit("alice", view, EMERGENCY)
        assert reply.status == 200
    await bot.settle()
    assert len(cards(bot)) == 1 and len(broadcasts(bot)) == 1


async def test_editing_an_emergency_keeps_it_an_emergency(bot):
    change_id = await declare(bot)
    await click(bot, "alice", "change_edit", change_id)
    modal = last_view(bot)
    assert modal["callback_id"] == "change_emergency" and modal["title"]["text"] == "Edit CHG-1"
    reply = await fill(bot, "alice", {**EMERGENCY, "rollback_plan": "Flip flag pool_v2 off."})
    assert reply.status == 200 and not reply.text.strip()
    change = await the_change(bot, change_id)
    assert (change.category, change.revision, change.rollback_plan) == (
        "emergency", 2, "Flip flag pool_v2 off.")
    assert len(broadcasts(bot)) == 1  # announced once


# ---- 1. deploy at once, outside business hours ----------------------------------------------


async def test_deploy_at_once_on_saturday_night_is_recorded_as_bypassing_the_gates(bot):
    bot.clock.set(SATURDAY_3AM)
    change_id = await declare(bot)
    await click(bot, "alice", "change_deploy", change_id)
    modal = last_view(bot)
    assert modal["callback_id"] == "change_deploy" and "*Emergency process*" in str(modal)
    reply = await fill(bot, "alice", {"method": "rolling", "notes": None})
    assert reply.status == 200 and not reply.text.strip()

    change = await the_change(bot, change_id)
    assert (change.status, change.deployed_at) == ("monitoring", SATURDAY_3AM)
    assert change.retrospective_due_at == SATURDAY_3AM + timedelta(hours=24)
    # An emergency is high-risk: the high-risk monitoring window (60 minutes, not 30).
    assert change.monitoring_ends_at == SATURDAY_3AM + timedelta(minutes=60)
    bypassed = {e.detail["gate"]: e for e in await events(bot, change_id, "gate_bypassed")}
    assert list(bypassed) == ["approvals", "staging", "business_hours"]
    assert bypassed["business_hours"].detail["reason"] == (
        "deployed outside business hours (Mon–Fri 09:00–17:00 UTC) under the emergency "
        "process")
    assert all(e.actor == "U0ALICE" and e.at == SATURDAY_3AM for e in bypassed.values())
    assert [e.action for e in await events(bot, change_id)][-5:] == [
        "gate_bypassed", "gate_bypassed", "gate_bypassed", "retrospective_scheduled",
        "watch_started"]

    [note] = broadcast_thread(bot)
    assert note.startswith(":rocket: <@U0ALICE> deployed CHG-1 to production (not approved "
                           "yet")
    text = card_text(bot, change_id)
    assert "Deployed — monitoring" in text and ":memo: Retrospective due <!date^" in text
    assert {"change_verify", "change_rollback", "change_approve",
            "change_retrospective"} <= set(buttons(card(bot, change_id)))


# ---- 3. approval after the fact ---------------------------------------------------------------


async def test_an_approval_after_deployment_is_recorded_and_shown_as_such(bot):
    change_id = await in_production(bot)
    bot.clock.advance(timedelta(hours=1))
    await click(bot, "alice", "change_approve", change_id)
    assert "can't approve your own change" in last_answer(bot, "alice")
    await click(bot, "bob", "change_approve", change_id)
    assert last_answer(bot, "bob") == "You approved CHG-1 (1 of 1)."

    [given] = await events(bot, change_id, "approval_given")
    assert given.actor == "U0BOB" and given.detail["after_deployment"] is True
    [approved] = await events(bot, change_id, "approved")
    assert approved.detail == {"after_deployment": True, "approvers": ["U0BOB"]}
    text = card_text(bot, change_id)
    assert "1 of 1 approval — approved after deployment" in text
    assert ":white_check_mark: Approved after deployment by <@U0BOB>" in text
    assert broadcast_thread(bot)[-1] == ":white_check_mark: <@U0BOB> approved CHG-1 (after " \
                                        "deployment)."
    assert any("approved *CHG-1* after its deployment" in t for t in dm_texts(bot, "alice"))

    bot.clock.advance(timedelta(hours=4))  # the delay passes: nobody is chased
    await bot.sweep()
    assert not any("still not approved" in t for t in dm_texts(bot, "dave"))


async def test_an_approval_before_deployment_is_not_after_and_skips_no_approval(bot):
    change_id = await declare(bot)
    await click(bot, "bob", "change_approve", change_id)
    assert (await the_change(bot, change_id)).status == "approved"
    bot.clock.advance(timedelta(minutes=5))
    await deployed(bot, change_id)
    [given] = await events(bot, change_id, "approval_given")
    assert given.detail["after_deployment"] is False
    assert [e.detail["gate"] for e in await events(bot, change_id, "gate_bypassed")] == [
        "staging"]
    text = card_text(bot, change_id)
    assert "1 of 1 approval" in text and "after deployment" not in text
    assert broadcast_thread(bot)[0] == ":white_check_mark: <@U0BOB> approved CHG-1 (before " \
                                       "deployment)."
    assert "(approved before deployment)" in broadcast_thread(bot)[1]


async def test_tech_leads_are_reminded_once_when_the_approval_is_still_missing(bot):
    change_id = await in_production(bot)
    bot.clock.advance(timedelta(hours=3, minutes=59))
    await bot.sweep()
    assert dm_texts(bot, "dave") == []
    bot.clock.advance(timedelta(minutes=1))
    await bot.sweep()
    [reminder] = dm_texts(bot, "dave")
    assert reminder.startswith(":rotating_light: The emergency *CHG-1: Revert the "
                               "connection-pool change of #4512* by <@U0ALICE> was deployed "
                               "4 h ago and is still not approved.")
    assert "|Open CHG-1>" in reminder
    assert [e.detail["tech_leads"] for e in await events(
        bot, change_id, "approval_missing_reminded")] == [["U0DAVE"]]

    restarted = another_process(bot)
    try:
        assert await restarted.sweeper.run_once() == 0
        bot.clock.advance(timedelta(hours=8))
        await restarted.sweeper.run_once()
        await restarted.background.drain()
    finally:
        await close_context(restarted)
    assert len(dm_texts(bot, "dave")) == 1
    # The reminder's answer: dave approves from the card.
    await click(bot, "dave", "change_approve", change_id)
    assert "1 of 1 approval — approved after deployment" in card_text(bot, change_id)


# ---- 4. the retrospective ---------------------------------------------------------------------


async def test_retrospective_reminders_and_escalation_each_once_across_restarts(
    db, slack, clock, policy,
):
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    await in_production(bot)
    deployed_at = clock.now()
    due = deployed_at + timedelta(hours=24)
    clock.advance(timedelta(hours=19, minutes=59))
    await bot.sweep()
    assert retro_dms(bot) == []
    await bot.stop()

    clock.advance(timedelta(minutes=1))  # due - 4 h, while the bot is down
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    await bot.sweep()
    warning = [m for m in dms(bot, "alice") if m["text"].startswith("Reminder: the retro")]
    assert [m["text"] for m in warning] == [
        f"Reminder: the retrospective of the emergency CHG-1 is due <!date^"
        f"{int(due.timestamp())}^{{date_short_pretty}} {{time}}|2026-11-26 10:00 UTC>, in 4 h."]
    assert buttons(warning[0]) == ["change_retrospective"]
    other = another_process(bot)
    try:
        assert await other.sweeper.run_once() == 0
    finally:
        await close_context(other)
    await bot.stop()

    clock.advance(timedelta(hours=4))  # due: the bot restarts exactly then
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy)
    try:
        await bot.sweep()
        assert [t for t in dm_texts(bot, "alice") if "is due now" in t] == [
            "The retrospective of the emergency CHG-1 is due now."]
        [to_dave] = [t for t in dm_texts(bot, "dave") if "is overdue" in t]
        assert to_dave.startswith(":warning: The retrospective of the emergency *CHG-1: ")
        [overdue] = [n for n in broadcast_thread(bot) if "overdue" in n]
        assert overdue.startswith(":warning: The retrospective of CHG-1 is overdue")
        assert "Tech leads told: <@U0DAVE>" in overdue
        assert ":warning: *Retrospective overdue*" in card_text(bot, 1)
        assert len(await events(bot, 1, "retrospective_overdue")) == 1
        clock.advance(DESK_SLOT)  # the desks of the people concerned are republished
        await bot.sweep()

        other = another_process(bot)
        try:
            clock.advance(timedelta(hours=1))  # the next rounds are a day apart
            assert await other.sweeper.run_once() == 0
        finally:
            await close_context(other)
        await bot.sweep()
        assert len(retro_dms(bot)) == 2  # the warning and the due reminder, each once
        assert len([t for t in dm_texts(bot, "dave") if "overdue" in t]) == 1
        assert len([n for n in broadcast_thread(bot) if "overdue" in n]) == 1
    finally:
        await bot.stop()


async def test_a_warning_that_could_only_go_out_after_the_due_time_is_dropped(bot):
    await in_production(bot)
    bot.clock.advance(timedelta(hours=25))  # the sweeper was down through both
    await bot.sweep()
    assert retro_dms(bot) == ["The retrospective of the emergency CHG-1 is due now."]


async def test_retrospective_done_closes_the_emergency(bot):
    change_id = await in_production(bot)
    bot.clock.advance(timedelta(hours=2))  # past the monitoring window, never verified
    await click(bot, "bob", "change_approve", change_id)
    await click(bot, "bob", "change_retrospective", change_id)
    assert "Only the author (<@U0ALICE>) or a tech lead" in last_answer(bot, "bob")

    stale = card(bot, change_id)
    await click(bot, "alice", "change_retrospective", change_id)
    modal = last_view(bot)
    assert modal["callback_id"] == "change_retrospective"
    bad = await fill(bot, "alice", {**RETROSPECTIVE, "document": "the wiki page"})
    assert "https://" in bad.json()["errors"]["document"]
    assert (await the_change(bot, change_id)).retrospective_done_at is None
    reply = await fill(bot, "alice", RETROSPECTIVE)
    assert reply.status == 200 and not reply.text.strip()

    now = bot.clock.now()
    change = await the_change(bot, change_id)
    assert (change.status, change.closed_at, change.retrospective_done_at) == (
        "completed", now, now)
    assert change.retrospective == {**RETROSPECTIVE, "by": "U0ALICE", "overdue": False}
    [event] = await events(bot, change_id, "retrospective_recorded")
    assert event.detail["status"] == {"from": "monitoring", "to": "completed"}
    text = card_text(bot, change_id)
    assert "Completed" in text and ":memo: Retrospective recorded" in text
    assert "change_retrospective" not in buttons(card(bot, change_id))
    assert broadcast_thread(bot)[-1].startswith(
        ":memo: <@U0ALICE> recorded the retrospective of CHG-1: "
        "<https://wiki.example.com/incidents/42>")
    assert any("recorded the retrospective" in n for n in thread(bot, change_id))
    async with bot.ctx.db.session() as session:
        assert await reminder_store.pending(session, change_id) == []
    bot.clock.advance(timedelta(hours=30))
    await bot.sweep()
    assert retro_dms(bot) == [] and dm_texts(bot, "dave") == []  # nothing chases it

    await bot.click("alice", "change_retrospective", channel="C0CHANGES", message=stale)
    await bot.settle()  # a card not yet updated: the button is refused, nothing recorded
    assert "already recorded" in last_answer(bot, "alice")
    assert len(await events(bot, change_id, "retrospective_recorded")) == 1


async def test_a_tech_lead_records_the_retrospective_of_a_verified_emergency(bot):
    change_id = await in_production(bot)
    bot.clock.advance(timedelta(minutes=60))  # the high-risk monitoring window
    await step(bot, "alice", "change_verify", change_id,
               {"checks": PRODUCTION_CHECKS, "notes": None})
    assert (await the_change(bot, change_id)).status == "completed"
    # Verified, its approval still owed: approve it, the retrospective (a rollback, rarely,
    # in "…").
    assert buttons(card(bot, change_id)) == ["change_approve", "change_retrospective",
                                             "change_more"]
    assert more_options(card(bot, change_id)) == ["change_rollback"]
    assert broadcast_thread(bot)[-1] == ":white_check_mark: <@U0ALICE> verified CHG-1 in " \
                                        "production."
    bot.clock.advance(timedelta(hours=25))
    await bot.sweep()  # overdue meanwhile
    await step(bot, "dave", "change_retrospective", change_id, RETROSPECTIVE)
    change = await the_change(bot, change_id)
    assert change.retrospective["by"] == "U0DAVE" and change.retrospective["overdue"] is True
    assert change.closed_at == bot.clock.now()
    assert "Retrospective overdue" not in card_text(bot, change_id)


async def test_a_finished_emergency_offers_nothing_more_and_refuses_another_approval(bot):
    change_id = await in_production(bot)
    await click(bot, "bob", "change_approve", change_id)
    bot.clock.advance(timedelta(minutes=60))
    await step(bot, "alice", "change_verify", change_id,
               {"checks": PRODUCTION_CHECKS, "notes": None})
    await step(bot, "alice", "change_retrospective", change_id, RETROSPECTIVE)
    assert (await the_change(bot, change_id)).status == "completed"
    message = card(bot, change_id)
    assert buttons(message) == ["change_more"]  # no Approve, no Roll back on the card
    assert more_options(message) == ["change_rollback"]

    await click_stale(bot, "carol", "change_approve", change_id)  # a card seen earlier
    answer = last_answer(bot, "carol")
    assert answer == "This change is completed: it is closed, so approvals are closed."
    assert len(await events(bot, change_id, "approval_given")) == 1


# ---- 5. monitoring window and rollback --------------------------------------------------------


async def test_a_rolled_back_emergency_still_owes_its_retrospective(bot):
    change_id = await in_production(bot)
    bot.clock.advance(timedelta(minutes=60))  # the high-risk monitoring window
    await bot.sweep()
    [window] = [m for m in dms(bot, "alice") if "monitoring window" in m["text"]]
    await click_dm(bot, "alice", "change_rollback", window)
    await fill(bot, "alice", {"trigger": "errors", "method": "revert", "notes": None})
    assert (await the_change(bot, change_id)).status == "rolled_back"
    assert broadcast_thread(bot)[-1].startswith(
        ":rewind: <@U0ALICE> is rolling back CHG-1: Application errors or crashes — Revert "
        "commit and redeploy. The retrospective is still due")
    assert buttons(card(bot, change_id)) == ["change_rollback_finished", "change_retrospective"]

    bot.clock.advance(timedelta(hours=4))
    await bot.sweep()
    # No approval to ask for after a rollback (the unfinished rollback is another matter).
    assert not [t for t in dm_texts(bot, "dave") if "not approved" in t]
    bot.clock.advance(timedelta(hours=16))
    await bot.sweep()
    assert len([t for t in retro_dms(bot) if t.startswith("Reminder")]) == 1
    await step(bot, "alice", "change_retrospective", change_id, RETROSPECTIVE)
    change = await the_change(bot, change_id)
    assert change.status == "rolled_back" and change.retrospective_done_at is not None
    assert buttons(card(bot, change_id)) == ["change_rollback_finished"]


# ---- /change list overdue -----------------------------------------------------------------------


async def test_list_overdue_names_the_emergencies_whose_retrospective_is_late(bot):
    reply = await bot.command("alice", "list overdue")
    assert reply.status == 200
    await bot.settle()
    assert last_answer(bot, "alice").startswith("No overdue retrospective")

    await in_production(bot)
    await declare(bot, "bob")  # never deployed: nothing is due
    bot.clock.advance(timedelta(hours=27))
    await bot.command("carol", "list overdue")
    await bot.settle()
    answer = bot.slack.responses(user=person("carol").id)[-1]
    assert answer["text"] == "1 overdue retrospective(s)"
    listed = str(answer["blocks"])
    assert "*CHG-1* Revert the connection-pool change of #4512" in listed
    assert "overdue by 3 h" in listed and "CHG-2" not in listed

    unknown = await bot.command("alice", "list everything")
    assert "`/change list overdue`" in unknown.json()["text"]


async def test_help_lists_the_emergency_commands(bot):
    reply = await bot.command("alice", "help")
    text = str(reply.json()["blocks"])
    assert "`/change emergency`" in text and "`/change list overdue`" in text


# ---- 2. the EMERGENCY label on the pull request ------------------------------------------------


@pytest.fixture
async def github():
    async with FakeGitHub() as fake:
        fake.add_pull("acme", "api", 12, title="Revert pool change", author="alice",
                      head_sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821")
        yield fake


async def test_the_pull_request_gets_the_emergency_label(db, slack, clock, policy, github):
    bot = await start_bot(db=db, slack=slack, clock=clock, policy=policy,
                          settings={"github_token": "t", "github_api_url": github.base_url})
    try:
        change_id = await declare(bot, pr_url=PR_URL)
        assert github.labels("acme", "api", 12) == ["EMERGENCY"]
        [labelled] = await events(bot, change_id, "github_label_added")
        assert labelled.detail["label"] == "EMERGENCY"
        bot.clock.advance(timedelta(hours=1))
        await bot.sweep()
        posts = [r for r in github.log if r.method == "POST" and r.path.endswith("/labels")]
        assert len(posts) == 1  # labelled once, not again
    finally:
        await bot.stop()


async def test_without_github_no_label_is_attempted_and_the_card_says_why(bot):
    change_id = await declare(bot, pr_url=PR_URL)
    async with bot.ctx.db.session() as session:
        rows = (await session.exec(select(Reminder).where(
            Reminder.change_id == change_id, Reminder.kind == "github_label"))).all()
    assert rows == []
    assert "GitHub is not connected" in card_text(bot, change_id)
