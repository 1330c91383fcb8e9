"""The card offers only what applies now, each status its own next step, the rarely used
actions in its overflow menu ("…"), and nothing once the change is closed."""

from datetime import timedelta

from tests.flows import (
    PRODUCTION_CHECKS,
    approved,
    buttons,
    card,
    card_text,
    click,
    click_stale,
    deployed,
    dms,
    fill,
    last_answer,
    last_view,
    more_options,
    propose,
    staged,
    step,
)

ROLLBACK = {"trigger": "errors", "method": "revert", "notes": None}


def status_of(bot, change_id: int) -> str:
    fields = card(bot, change_id)["blocks"][1]["fields"]
    return fields[0]["text"].removeprefix("*Status*\n")


async def test_after_its_approval_a_card_shows_at_most_four_and_only_what_applies(bot):
    change_id = await propose(bot, security_checkboxes=["auth"])
    await click(bot, "bob", "change_approve", change_id)
    message = card(bot, change_id)
    assert status_of(bot, change_id) == "Approved"
    # The security team's two buttons while its review is awaited; staging is next; "…".
    assert buttons(message) == ["security_approve", "security_request_changes",
                                "change_staging_deployed", "change_more"]
    assert more_options(message) == ["change_edit", "change_cancel"]
    text = card_text(bot, change_id)
    for gone in ("'Approve'", "'Reject'", "'Deploy to production'"):
        assert f"'text': {gone}" not in text

    await click(bot, "erin", "security_approve", change_id)
    assert buttons(card(bot, change_id)) == ["change_staging_deployed", "change_more"]
    await click(bot, "alice", "change_staging_deployed", change_id)
    await step(bot, "alice", "change_staging_verify", change_id,
               {"checks": ["functional", "no_breaking_changes", "security"], "notes": None})
    assert buttons(card(bot, change_id)) == ["change_deploy", "change_more"]
    await deployed(bot, change_id)
    assert buttons(card(bot, change_id)) == ["change_verify", "change_rollback"]


async def test_each_status_of_the_path_shows_its_own_next_step(bot):
    change_id = await approved(bot)
    await click(bot, "alice", "change_staging_deployed", change_id)
    assert status_of(bot, change_id) == "In staging"
    assert buttons(card(bot, change_id)) == ["change_staging_verify", "change_more"]


async def test_a_rollback_reads_rolling_back_until_it_is_finished(bot):
    change_id = await approved(bot)
    await staged(bot, change_id)
    await deployed(bot, change_id)
    await step(bot, "alice", "change_rollback", change_id, ROLLBACK)
    assert status_of(bot, change_id) == "Rolling back"
    assert "Rolled back" not in card(bot, change_id)["text"]
    assert buttons(card(bot, change_id)) == ["change_rollback_finished"]
    bot.clock.advance(timedelta(minutes=7))
    await click(bot, "alice", "change_rollback_finished", change_id)
    assert status_of(bot, change_id) == "Rolled back"
    assert buttons(card(bot, change_id)) == []  # closed: no buttons


async def test_a_completed_change_is_rolled_back_from_the_overflow_menu(bot):
    change_id = await approved(bot)
    await staged(bot, change_id)
    await deployed(bot, change_id)
    bot.clock.advance(timedelta(minutes=30))
    await step(bot, "alice", "change_verify", change_id,
               {"checks": PRODUCTION_CHECKS, "notes": None})
    assert buttons(card(bot, change_id)) == ["change_more"]
    await step(bot, "alice", "change_rollback", change_id, ROLLBACK)  # chosen in "…"
    assert status_of(bot, change_id) == "Rolling back"


async def test_cancel_from_the_overflow_menu_is_confirmed_in_a_modal(bot):
    change_id = await propose(bot)
    await click(bot, "alice", "change_cancel", change_id)
    modal = last_view(bot)
    assert modal["callback_id"] == "change_cancel_confirmed"
    assert modal["close"]["text"] == "Keep it" and "cannot be undone" in str(modal)
    assert status_of(bot, change_id) == "In review"  # nothing happens until confirmed
    reply = await fill(bot, "alice", {})
    assert reply.status == 200 and not reply.text.strip()
    assert status_of(bot, change_id) == "Cancelled"
    assert buttons(card(bot, change_id)) == []


async def test_an_unknown_option_of_the_overflow_menu_is_answered(bot):
    change_id = await propose(bot)
    message = card(bot, change_id)
    menu = message["blocks"][-1]["elements"][-1]
    menu["options"].append({"text": {"type": "plain_text", "text": "Retired"},
                            "value": f"{change_id}:change_retired"})
    reply = await bot.click("alice", "change_more", channel="C0CHANGES", message=message,
                            selected=f"{change_id}:change_retired")
    await bot.settle()
    assert reply.status == 200
    assert "nothing was changed" in last_answer(bot, "alice")
    assert status_of(bot, change_id) == "In review"


async def test_an_approval_once_approvals_are_complete_is_refused(bot):
    change_id = await approved(bot)
    await click_stale(bot, "carol", "change_approve", change_id)
    assert "approvals are already complete (1 of 1)" in last_answer(bot, "carol")
    assert "1 of 1 approval" in card_text(bot, change_id)


# ---- DMs that asked for something the change no longer needs ---------------------------


async def test_a_review_request_says_so_once_the_change_is_approved(bot):
    change_id = await propose(bot, reviewers=["U0BOB"])
    [request] = dms(bot, "bob")
    assert "asked you to review" in request["text"]
    await click(bot, "carol", "change_approve", change_id)
    [request] = dms(bot, "bob")  # the same message, updated in place
    text = str(request["blocks"])
    assert "asked you to review" in text
    assert f"Nothing to do here any more: CHG-{change_id} is approved." in text


async def test_the_window_end_dm_loses_its_buttons_once_the_change_is_verified(bot):
    change_id = await approved(bot)
    await staged(bot, change_id)
    await deployed(bot, change_id)
    bot.clock.advance(timedelta(minutes=30))
    await bot.sweep()
    [window] = [m for m in dms(bot, "alice") if "monitoring window" in m["text"]]
    assert buttons(window) == ["change_verify", "change_rollback", "reminder_snooze_window_30",
                              "reminder_snooze_window_60"]
    await step(bot, "alice", "change_verify", change_id,
               {"checks": PRODUCTION_CHECKS, "notes": None})
    [window] = [m for m in dms(bot, "alice") if "monitoring window" in m["text"]]
    assert buttons(window) == []
    assert f"Nothing to do here any more: CHG-{change_id} is completed." in str(window["blocks"])
    assert "Your monitoring window" in str(window["blocks"])  # what it said is kept


async def test_the_security_teams_request_says_so_once_the_review_is_decided(bot):
    change_id = await propose(bot, security_checkboxes=["crypto"])
    [asked] = dms(bot, "erin")
    assert "touches cryptography" in asked["text"]
    await click(bot, "erin", "security_approve", change_id)
    [asked] = [m for m in dms(bot, "erin") if "touches cryptography" in m["text"]]
    assert (f"Nothing to do here any more: the security review of CHG-{change_id} is "
            "approved.") in str(asked["blocks"])
