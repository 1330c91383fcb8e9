"""Slack's side of a person's action (bot/playground/standin/interactions.py): the signed request
it sends the app, and what it does with each kind of answer.

The app here is a small scripted aiohttp server that checks Slack's signature and answers
what the test tells it to: this is about the stand-in, not about the bot (the bot is driven
through the same code by test_playground.py and the browser tests).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.playground.standin.api import FakeSlack
from bot.playground.standin.interactions import TROUBLE, AppConnection
from bot.playground.standin.workspace import ALICE, CHANGES, seed

SECRET = "scripted-app-secret"


def modal(title: str, *, notify_on_close: bool = False) -> dict:
    return {
        "type": "modal", "callback_id": "step",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Next"},
        "notify_on_close": notify_on_close,
        "blocks": [{"type": "input", "block_id": "name",
                    "label": {"type": "plain_text", "text": "Name"},
                    "element": {"type": "plain_text_input", "action_id": "name"}}],
    }


class ScriptedApp:
    """An app at /slack/events that answers with `self.answer(request body)`."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answer: Callable[[dict], web.Response] = lambda _body: web.Response()
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.text()
        if not SignatureVerifier(SECRET).is_valid_request(raw, dict(request.headers)):
            return web.Response(status=401)
        if request.content_type == "application/json":
            body = json.loads(raw)
        else:
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            body = json.loads(form["payload"]) if "payload" in form else form
        self.received.append(body)
        await asyncio.sleep(self.delay)
        return self.answer(body)


@pytest.fixture
async def slack():
    fake = FakeSlack()
    seed(fake)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def app():
    scripted = ScriptedApp()
    web_app = web.Application()
    web_app.router.add_post("/slack/events", scripted.handle)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    scripted.url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    yield scripted
    await runner.cleanup()


@pytest.fixture
async def connection(slack, app):
    linked = AppConnection(slack, app.url, SECRET, timeout=0.5)
    yield linked
    await linked.close()


def json_answer(body: dict) -> Callable[[dict], web.Response]:
    return lambda _request: web.json_response(body)


def open_modal(slack: FakeSlack, title: str = "Step 1", **options) -> str:
    view = slack.workspace.open_view(modal(title, **options), ALICE.id, push=False)
    return view["id"]


# ---- slash commands ------------------------------------------------------------------------


async def test_a_command_is_signed_and_carries_a_trigger_and_a_response_url(
    slack, app, connection
):
    outcome = await connection.command(ALICE.id, CHANGES, "/change  show CHG-1 ")
    assert outcome.ok
    (sent,) = app.received
    assert (sent["command"], sent["text"], sent["user_id"], sent["channel_name"]) == (
        "/change", "show CHG-1", ALICE.id, "changes")
    assert sent["response_url"].startswith(slack.root_url + "/response/")
    assert slack.workspace.use_trigger(sent["trigger_id"]) == ALICE.id  # issued for alice


async def test_a_command_answer_is_ephemeral_unless_in_channel(slack, app, connection):
    app.answer = json_answer({"text": "only for you"})
    await connection.command(ALICE.id, CHANGES, "/change help")
    app.answer = json_answer({"text": "for everyone", "response_type": "in_channel"})
    await connection.command(ALICE.id, CHANGES, "/change help")
    app.answer = lambda _body: web.Response(text="plain text answer")
    await connection.command(ALICE.id, CHANGES, "/change help")
    assert [e["text"] for e in slack.ephemerals(ALICE.id)] == ["only for you",
                                                               "plain text answer"]
    assert [m["text"] for m in slack.messages(CHANGES)] == ["for everyone"]


async def test_a_failing_or_slow_app_is_reported_in_slacks_words(slack, app, connection):
    app.answer = lambda _body: web.Response(status=500)
    outcome = await connection.command(ALICE.id, CHANGES, "/change new")
    assert outcome.error == '/change failed with the error "dispatch_failed" (HTTP 500)'
    app.delay = 1.0
    outcome = await connection.command(ALICE.id, CHANGES, "/change new")
    assert outcome.error == '/change failed with the error "operation_timeout"'
    assert slack.ephemerals() == [] and slack.messages(CHANGES) == []


async def test_an_invalid_answer_is_refused_like_slack_does(slack, app, connection):
    app.answer = json_answer({"text": "x", "blocks": [{"type": "section", "text": "bare"}]})
    outcome = await connection.command(ALICE.id, CHANGES, "/change help")
    assert outcome.error == "Slack refused the app's answer: invalid_blocks"
    assert slack.ephemerals() == []


# ---- buttons -----------------------------------------------------------------------------


async def test_a_click_on_a_message_button_sends_block_actions(slack, app, connection):
    message = slack.workspace.post_message(CHANGES, {"text": "card", "blocks": [
        {"type": "actions", "block_id": "act", "elements": [
            {"type": "button", "action_id": "go", "value": "7",
             "text": {"type": "plain_text", "text": "Go"}}]}]})
    outcome = await connection.click(ALICE.id, "go", block_id="act", channel=CHANGES,
                                     ts=message["ts"])
    assert outcome.ok
    (sent,) = app.received
    assert sent["type"] == "block_actions"
    assert sent["actions"][0] | {"action_ts": None} == {
        "type": "button", "action_id": "go", "block_id": "act", "value": "7",
        "text": {"type": "plain_text", "text": "Go"}, "action_ts": None}
    assert sent["container"]["message_ts"] == message["ts"]
    assert sent["response_url"].startswith(slack.root_url)
    missing = await connection.click(ALICE.id, "go", channel=CHANGES, ts="1.000001")
    assert missing.error == "that message is gone"


# ---- modals: what Slack does with each answer to a submission --------------------------------


async def test_an_empty_answer_closes_the_submitted_view(slack, app, connection):
    view_id = open_modal(slack)
    outcome = await connection.submit(ALICE.id, view_id, {"name": "Ada"})
    assert outcome.ok and slack.view_stack(ALICE.id) == []
    (sent,) = app.received
    assert sent["view"]["state"]["values"] == {
        "name": {"name": {"type": "plain_text_input", "value": "Ada"}}}


async def test_errors_keep_the_view_open_and_come_back_by_field(slack, app, connection):
    view_id = open_modal(slack)
    app.answer = json_answer({"response_action": "errors", "errors": {"name": "Too short."}})
    outcome = await connection.submit(ALICE.id, view_id, {"name": "A"})
    assert (outcome.ok, outcome.errors) == (False, {"name": "Too short."})
    assert [v["id"] for v in slack.view_stack(ALICE.id)] == [view_id]


async def test_push_update_and_clear(slack, app, connection):
    first = open_modal(slack, "Step 1")
    app.answer = json_answer({"response_action": "push", "view": modal("Step 2")})
    assert (await connection.submit(ALICE.id, first, {"name": "a"})).ok
    stack = slack.view_stack(ALICE.id)
    assert [v["title"]["text"] for v in stack] == ["Step 1", "Step 2"]

    app.answer = json_answer({"response_action": "update", "view": modal("Step 2, again")})
    assert (await connection.submit(ALICE.id, stack[1]["id"], {"name": "b"})).ok
    stack = slack.view_stack(ALICE.id)
    assert [v["title"]["text"] for v in stack] == ["Step 1", "Step 2, again"]

    app.answer = json_answer({"response_action": "clear"})
    assert (await connection.submit(ALICE.id, stack[1]["id"], {"name": "c"})).ok
    assert slack.view_stack(ALICE.id) == []
    closed = await connection.submit(ALICE.id, first, {"name": "d"})
    assert closed.error == "This form is closed."


async def test_a_broken_answer_shows_slacks_trouble_message(slack, app, connection):
    view_id = open_modal(slack)
    app.answer = json_answer({"response_action": "update", "view": {"type": "modal"}})
    assert (await connection.submit(ALICE.id, view_id, {"name": "a"})).error == TROUBLE
    app.answer = lambda _body: web.Response(status=500)
    assert (await connection.submit(ALICE.id, view_id, {"name": "a"})).error == TROUBLE
    assert len(slack.view_stack(ALICE.id)) == 1


async def test_closing_notifies_the_app_only_when_it_asked(slack, app, connection):
    quiet = open_modal(slack, "Quiet")
    await connection.close_view(ALICE.id, quiet)
    assert app.received == [] and slack.view_stack(ALICE.id) == []
    told = open_modal(slack, "Told", notify_on_close=True)
    await connection.close_view(ALICE.id, told, all_views=True)
    (sent,) = app.received
    assert (sent["type"], sent["view"]["id"], sent["is_cleared"]) == ("view_closed", told, True)


async def test_opening_the_home_tab_sends_app_home_opened(slack, app, connection):
    assert (await connection.open_home(ALICE.id)).ok
    (sent,) = app.received
    assert sent["type"] == "event_callback"
    assert sent["event"] | {"event_ts": None} == {
        "type": "app_home_opened", "user": ALICE.id, "channel": slack.dm_channel(ALICE.id),
        "tab": "home", "event_ts": None}
