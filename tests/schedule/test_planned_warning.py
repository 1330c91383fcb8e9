"""The planned time checked as it is chosen in the proposal form: a warning right under the
field (the modal updated in place, what was typed kept) when a deploy would be refused then
— in a freeze, outside business hours — and none once the time is fine. Not a refusal."""

from datetime import UTC, datetime

import pytest

from bot.playground.standin import requests as slack_requests
from bot.playground.standin.workspace import demo_policy, person
from bot.proposal.views import PLANNED_AT, PLANNED_WARNING
from bot.schedule.policy import Freezes, RecurringFreeze
from tests.flows import PROPOSAL, card_text, click, last_view, open_modal, propose

FRIDAYS = RecurringFreeze(name="Friday afternoons", reason="no deploys before the weekend",
                          days="fri", start="15:00", end="24:00")
FRIDAY_4PM = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
FRIDAY_11AM = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
SATURDAY_10AM = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
TYPED = {"title": "Add an index on orders.created_at", "risk": "low"}


@pytest.fixture
def policy():
    return demo_policy(freezes=Freezes(recurring=[FRIDAYS]))


def warning(view: dict) -> str | None:
    """The warning right under the planned time, if the form shows one."""
    ids = [b.get("block_id") for b in view["blocks"]]
    if PLANNED_WARNING not in ids:
        return None
    assert ids.index(PLANNED_WARNING) == ids.index(PLANNED_AT) + 1, "not under the field"
    (element,) = next(b for b in view["blocks"] if b.get("block_id") == PLANNED_WARNING
                      )["elements"]
    return str(element["text"])


async def choose(bot, view_id: str, at: datetime, *, view: dict | None = None) -> None:
    """Alice picks `at` in the planned-time input: Slack sends it at once (block_actions),
    with the form as it is (or as it was: `view`)."""
    bot.slack.type_into(view_id, {PLANNED_AT: at})
    reply = await bot.click("alice", PLANNED_AT, view=view or bot.slack.view(view_id),
                            selected=at)
    assert reply.status == 200 and not reply.text.strip(), reply.text
    await bot.settle()


async def test_a_time_in_a_freeze_or_outside_hours_is_warned_under_the_field(bot):
    opened = await open_modal(bot, "alice")
    view_id = opened["id"]
    field = next(b for b in opened["blocks"] if b.get("block_id") == PLANNED_AT)
    assert field["dispatch_action"] is True
    bot.slack.type_into(view_id, TYPED)

    await choose(bot, view_id, FRIDAY_4PM)
    (update,) = bot.slack.calls_to("views.update")
    assert update.args["view_id"] == view_id and update.args["hash"] == opened["hash"]
    form = bot.slack.view(view_id)
    said = warning(form)
    assert said is not None and said.startswith(":warning: <!date^1795795200^")
    assert "falls in the freeze *Friday afternoons* (no deploys before the weekend) — " \
           "deploying then will be refused unless it is an emergency." in said
    # The form is the same form, and what alice typed is still there.
    assert (form["callback_id"], form["title"], form["submit"]) == (
        opened["callback_id"], opened["title"], opened["submit"])
    values = form["state"]["values"]
    assert values["title"]["title"]["value"] == TYPED["title"]
    assert values["risk"]["risk"]["selected_option"]["value"] == "low"
    assert values[PLANNED_AT][PLANNED_AT]["selected_date_time"] == int(FRIDAY_4PM.timestamp())

    await choose(bot, view_id, SATURDAY_10AM)
    said = warning(bot.slack.view(view_id))
    assert said is not None and "is outside business hours (Mon–Fri 09:00–17:00 UTC) — " \
        "deploying then will be refused unless it is an emergency." in said
    assert "freeze" not in said

    await choose(bot, view_id, FRIDAY_11AM)
    assert warning(bot.slack.view(view_id)) is None
    assert bot.slack.view(view_id)["state"]["values"]["title"]["title"]["value"] \
        == TYPED["title"]
    calls = len(bot.slack.calls_to("views.update"))
    await choose(bot, view_id, FRIDAY_11AM)  # nothing to say, nothing said
    assert len(bot.slack.calls_to("views.update")) == calls


async def test_the_warning_does_not_refuse_the_plan(bot):
    view = await open_modal(bot, "alice")
    await choose(bot, view["id"], FRIDAY_4PM)
    reply = await bot.submit("alice", bot.slack.view(view["id"]),
                             {**PROPOSAL, "planned_at": FRIDAY_4PM})
    await bot.settle()
    assert reply.status == 200 and not reply.text.strip(), reply.text
    assert ":snowflake: Planned inside the freeze “Friday afternoons”" in card_text(bot, 1)


async def test_a_time_that_has_passed_is_said_at_once(bot):
    view = await open_modal(bot, "alice")
    await choose(bot, view["id"], datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    said = warning(bot.slack.view(view["id"]))
    assert said is not None and said.endswith("has passed: pick a time in the future.")


async def test_the_edit_form_opens_with_the_warning_of_its_planned_time(bot):
    change_id = await propose(bot, "alice", planned_at=FRIDAY_4PM)
    await click(bot, "alice", "change_edit", change_id)
    said = warning(last_view(bot))
    assert said is not None and "the freeze *Friday afternoons*" in said


async def test_a_choice_made_before_the_form_was_updated_still_wins(bot):
    """Two choices in a row: the second arrives with the hash of the form before the first
    one's update (Slack refuses it: hash_conflict); being the newer, it is shown."""
    opened = await open_modal(bot, "alice")
    view_id = opened["id"]
    await choose(bot, view_id, FRIDAY_4PM)
    assert warning(bot.slack.view(view_id)) is not None
    stale = {**bot.slack.view(view_id), "hash": opened["hash"], "blocks": opened["blocks"]}
    await choose(bot, view_id, FRIDAY_11AM, view=stale)
    errors = [c.response.get("error") for c in bot.slack.calls_to("views.update")]
    assert errors == [None, "hash_conflict", None]
    assert warning(bot.slack.view(view_id)) is None


async def test_an_older_choice_handled_late_does_not_write_over_a_newer_one(bot):
    opened = await open_modal(bot, "alice")
    who = person("alice")

    def chose(at: datetime) -> dict:
        return slack_requests.block_actions_payload(
            user=who.id, user_name=who.name, action_id=PLANNED_AT,
            trigger_id=slack_requests.new_trigger_id(), view=opened, selected=at)

    older, newer = chose(FRIDAY_4PM), chose(FRIDAY_11AM)
    older["actions"][0]["action_ts"] = "1796900000.000001"
    newer["actions"][0]["action_ts"] = "1796900001.000001"
    for payload in (newer, older):
        reply = await bot.interact(payload)
        assert reply.status == 200, reply.text
        await bot.settle()
    assert warning(bot.slack.view(opened["id"])) is None
    assert bot.slack.calls_to("views.update") == []
