"""The service a change ships to: a field of the proposal and emergency forms, a menu of the
team's services when the policy lists them, required when the policy says so; stored on the
change, shown on its card, in `/change show` and in the calendar; conflicts are found on it."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from bot.playground.standin import requests as slack_requests
from bot.playground.standin.workspace import demo_policy, person
from bot.policy import ProposalPolicy
from storage.models import Change
from tests.emergency.test_emergency import EMERGENCY
from tests.flows import (
    PROPOSAL,
    card_text,
    cards,
    click,
    last_view,
    open_modal,
    propose,
    submit_proposal,
)

SERVICES = ProposalPolicy(services=["payments-api", "web"], require_service=True)
PLANNED = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # Thursday, inside business hours


async def stored(bot) -> list[Change]:
    async with bot.ctx.db.session() as session:
        return list((await session.exec(select(Change).order_by(Change.id))).all())


def block(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


class TestAListOfServices:
    @pytest.fixture
    def policy(self):
        return demo_policy(proposal=SERVICES)

    async def test_the_form_offers_the_services_and_requires_one(self, bot):
        view = await open_modal(bot, "alice")
        service = block(view, "service")
        assert service["type"] == "input" and not service.get("optional")
        assert service["element"]["type"] == "static_select"
        assert [o["value"] for o in service["element"]["options"]] == ["payments-api", "web"]

        reply = await submit_proposal(bot, "alice", view=view)  # no service chosen
        assert reply.status == 200
        assert reply.json()["response_action"] == "errors"
        assert reply.json()["errors"]["service"].startswith("Name the service this change")
        assert cards(bot) == [] and await stored(bot) == []

        change_id = await propose(bot, "alice", service="web")
        (change,) = await stored(bot)
        assert change.service == "web"
        assert "*Service*\\nweb" in card_text(bot, change_id)

        reply = await bot.command("alice", f"show CHG-{change_id}")
        assert reply.status == 200
        await bot.settle()
        shown = bot.slack.responses(user=person("alice").id)[-1]
        assert "*Service*\\nweb" in str(shown["blocks"])

    async def test_a_service_not_in_the_list_is_refused_under_the_field(self, bot):
        view = await open_modal(bot, "alice")
        who = person("alice")
        payload = slack_requests.view_submission_payload(
            user=who.id, user_name=who.name, view=view, values={**PROPOSAL, "service": "web"},
            trigger_id=slack_requests.new_trigger_id())
        # A menu option that is not the policy's (a form opened before the list changed).
        payload["view"]["state"]["values"]["service"]["service"]["selected_option"] = {
            "text": {"type": "plain_text", "text": "billing"}, "value": "billing"}
        reply = await bot.interact(payload)
        await bot.settle()
        assert reply.json() == {"response_action": "errors", "errors": {
            "service": "'billing' is not one of the team's services: choose one of "
                       "payments-api, web."}}
        assert cards(bot) == [] and await stored(bot) == []

    async def test_the_emergency_form_asks_for_it_too(self, bot):
        view = await open_modal(bot, "alice", "emergency")
        assert block(view, "service")["element"]["type"] == "static_select"
        reply = await bot.submit("alice", view, EMERGENCY)
        await bot.settle()
        assert list(reply.json()["errors"]) == ["service"]
        assert await stored(bot) == []
        reply = await bot.submit("alice", view, {**EMERGENCY, "service": "payments-api"})
        await bot.settle()
        assert reply.status == 200 and not reply.text.strip(), reply.text
        (change,) = await stored(bot)
        assert change.service == "payments-api"

    async def test_the_edit_form_keeps_the_service_chosen(self, bot):
        change_id = await propose(bot, "alice", service="payments-api")
        await click(bot, "alice", "change_edit", change_id)
        chosen = block(last_view(bot), "service")["element"]["initial_option"]
        assert chosen["value"] == "payments-api"


class TestATypedService:
    async def test_any_name_is_taken_and_conflicts_are_found_on_it(self, bot):
        service = block(await open_modal(bot, "alice"), "service")
        assert service["element"]["type"] == "plain_text_input" and service["optional"]

        first = await propose(bot, "alice", service=" Payments-API ", planned_at=PLANNED,
                              pr_url="https://github.com/acme/api/pull/1")
        # Another repository, the same service (named in another case): a conflict.
        second = await propose(bot, "carol", title="Rotate the payment keys",
                               service="payments-api", planned_at=PLANNED + timedelta(minutes=20),
                               pr_url="https://github.com/acme/keys/pull/2")
        # The same repository as the first, another service: none.
        other = await propose(bot, "carol", title="Tune the API's pool", service="api-pool",
                              planned_at=PLANNED, pr_url="https://github.com/acme/api/pull/3")
        await bot.sweep()
        assert [c.service for c in await stored(bot)] == ["Payments-API", "payments-api",
                                                          "api-pool"]
        assert f"|CHG-{second}> (Rotate the payment keys) is planned on `payments-api`" \
            in card_text(bot, first)
        assert f"|CHG-{first}> (Add an index on orders.created_at) is planned on " \
               "`payments-api`" in card_text(bot, second)
        assert "Conflict" not in card_text(bot, other)

        reply = await bot.command("alice", "calendar")
        assert reply.status == 200
        await bot.settle()
        calendar = str(bot.slack.responses(user=person("alice").id)[-1]["blocks"])
        assert f"conflicts with CHG-{second} on `payments-api`" in calendar
        assert "Tune the API's pool · In review · `api-pool`" in calendar

    async def test_a_name_too_long_is_refused_under_the_field(self, bot):
        view = await open_modal(bot, "alice")
        assert block(view, "service")["element"]["max_length"] == 75
        reply = await submit_proposal(bot, "alice", view=view, service="x" * 80)
        assert reply.json()["errors"] == {
            "service": "Keep this under 75 characters (it has 80)."}
        assert await stored(bot) == []


@pytest.mark.parametrize(("services", "problem"), [
    (["web", "Web"], "services listed twice: web"),
    (["web", " "], "a service has an empty name"),
    (["x" * 76], "is longer than 75 characters"),
    ([f"s{n}" for n in range(101)], "101 services: a Slack menu holds 100"),
])
def test_the_policy_s_services_are_checked_at_start(services, problem):
    with pytest.raises(ValidationError, match=problem):
        ProposalPolicy(services=services)
