"""Buttons and forms the bot does not (or no longer) know, through real signed requests: a
clear answer the person can act on, never Bolt's 404 and Slack's generic error."""

from __future__ import annotations

from bot.playground.standin import requests as slack_requests
from bot.playground.standin.methods import checked_view
from bot.playground.standin.workspace import CHANGES, person
from bot.slack.payloads import OUT_OF_DATE
from handlers.fallback import UNKNOWN_FORM
from tests.flows import PROPOSAL, open_modal
from tests.slack.test_bad_input import answers, counts


async def _submit(bot, view: dict, callback_id: str, values: dict):
    who = person("alice")
    payload = slack_requests.view_submission_payload(
        user=who.id, user_name=who.name, view={**view, "callback_id": callback_id},
        values=values, trigger_id=slack_requests.new_trigger_id())
    return await bot.interact(payload)


async def test_a_form_no_listener_knows_is_answered_under_its_first_field(bot):
    view = await open_modal(bot, "alice")  # a proposal form, as an older version named it
    reply = await _submit(bot, view, "change_proposal_v0", PROPOSAL)
    assert reply.status == 200, reply.text
    first_input = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")
    assert reply.json() == {"response_action": "errors", "errors": {first_input: UNKNOWN_FORM}}
    assert "/change new" in UNKNOWN_FORM
    assert await counts(bot) == (0, 0)


async def test_a_form_without_inputs_no_listener_knows_turns_into_a_notice(bot):
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Old"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Sure?"}}],
            "id": "V0OLD", "private_metadata": "1"}
    reply = await _submit(bot, view, "gone_confirmation", {})
    assert reply.status == 200, reply.text
    answer = reply.json()
    assert answer["response_action"] == "update"
    shown = checked_view(answer["view"], kind="modal")  # a modal Slack accepts
    assert shown["blocks"][0]["text"]["text"] == UNKNOWN_FORM
    assert await counts(bot) == (0, 0)


async def test_a_known_form_is_still_its_own_listeners(bot):
    view = await open_modal(bot, "alice")
    reply = await bot.submit("alice", view, PROPOSAL)
    assert reply.status == 200
    assert reply.text == ""  # kept and closed, not called out of date
    await bot.settle()  # recorded after the answer (bot.proposal.submissions)
    assert (await counts(bot))[0] == 1


async def test_a_button_no_listener_knows_is_answered_out_of_date(bot):
    old_card = {"ts": "1.0", "blocks": [{"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "action_id": "change_frobnicate", "value": "1",
         "text": {"type": "plain_text", "text": "Frobnicate"}}]}]}  # a button since removed
    reply = await bot.click("bob", "change_frobnicate", channel=CHANGES, message=old_card)
    assert reply.status == 200, reply.text
    await bot.settle()
    assert answers(bot, "bob") == [OUT_OF_DATE]
    assert OUT_OF_DATE.startswith("That button is out of date")
