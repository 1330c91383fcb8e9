"""Bad input through real HTTP: verified before parsing, every shape answered, never a 5xx
nor silence, nothing changed."""

import json
import time
from urllib.parse import urlencode

from sqlmodel import func, select

from bot.playground.standin import requests as slack_requests
from bot.playground.standin.workspace import CHANGES, person
from bot.slack.payloads import FORM_OUT_OF_DATE, OUT_OF_DATE
from storage.models import AuditEvent, Change
from tests.flows import PROPOSAL, card, open_modal, propose
from tests.harness import SIGNING_SECRET

FORM = "application/x-www-form-urlencoded"


def answers(bot, user: str = "alice") -> list[str]:
    return [e["text"] for e in bot.slack.ephemerals(person(user).id)]


async def counts(bot) -> tuple[int, int]:
    async with bot.ctx.db.session() as session:
        changes = (await session.exec(select(func.count()).select_from(Change))).one()
        events = (await session.exec(select(func.count()).select_from(AuditEvent))).one()
    return changes, events


async def raw(bot, body: bytes, headers: dict[str, str]):
    async with bot.http.post(bot.url + "/slack/events", data=body, headers=headers) as r:
        return r.status, await r.text()


def signed_headers(body: bytes, content_type: str = FORM, **extra: str) -> dict[str, str]:
    ts = str(int(time.time()))
    from hashlib import sha256
    from hmac import new

    digest = new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, sha256)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": "v0=" + digest.hexdigest(), **extra}


# ---- 1. verified before parsing ----------------------------------------------------------

async def test_unsigned_forged_stale_or_malformed_headers_get_401_whatever_the_body(bot):
    bodies = [b"payload=[]", b"payload=not-json", b"\xff\xfe\x00garbage", b"[1, 2]", b"{",
              urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()]
    calls = len(bot.slack.calls)
    for body in bodies:
        good = signed_headers(body)
        variants = [
            {"Content-Type": FORM},  # unsigned
            {**good, "X-Slack-Signature": "v0=" + "0" * 64},  # forged
            {**good, "X-Slack-Request-Timestamp": "abc"},
            {**good, "X-Slack-Request-Timestamp": "1" * 40},
            {**good, "X-Slack-Request-Timestamp": str(int(time.time()) - 6 * 60)},
            {**good, "X-Slack-Signature": "v1=ü"},
            {**good, "Content-Type": "application/x-www-form-urlencoded; charset=klingon",
             "X-Slack-Signature": "nope"},
        ]
        for headers in variants:
            status, _ = await raw(bot, body, headers)
            assert status == 401, (body, headers)
    assert len(bot.slack.calls) == calls
    assert await counts(bot) == (0, 0)


async def test_signed_bodies_that_are_not_slack_requests_get_400_and_change_nothing(bot):
    bodies = [
        (b"payload=[]", FORM),
        (b"payload=not-json", FORM),
        (b"payload=%22just+a+string%22", FORM),
        (b"\xff\xfe\x00garbage", FORM),
        ("text=caf\u00e9".encode("latin-1"), FORM),
        (b"[1, 2]", "application/json"),
        (b'{"type": "event_callback", "event": "app_home_opened"}', "application/json"),
        (b'{"type": "url_verification"}', "application/json"),
        (urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U0ALICE"},
                                           "actions": []})}).encode(), FORM),
        (urlencode({"payload": json.dumps({"type": "view_submission",
                                           "user": "U0ALICE"})}).encode(), FORM),
        (urlencode({"command": "/change", "text": "list"}).encode(), FORM),  # no user
        (urlencode({"command": "/change", "user_id": "U0\x00"}).encode(), FORM),
        (b"a=b", FORM),
        (b"help", FORM + "; charset=klingon"),
    ]
    calls = len(bot.slack.calls)
    for body, content_type in bodies:
        status, text = await raw(bot, body, signed_headers(body, content_type))
        assert status == 400, (body, status, text)
        assert "nothing was done" in text
    assert len(bot.slack.calls) == calls
    assert await counts(bot) == (0, 0)


async def test_a_command_that_mentions_payload_is_still_a_command(bot):
    """Bolt alone reads any form containing "payload" as interactivity (an empty body)."""
    reply = await bot.command("alice", "payload")
    assert reply.status == 200
    assert "I don't know `/change payload`" in reply.text


# ---- 2. every payload shape has an answer -------------------------------------------------

async def test_a_very_long_unknown_command_gets_help_with_the_echo_cut(bot):
    reply = await bot.command("alice", "x" * 5000)
    assert reply.status == 200
    body = reply.json()
    assert "I don't know `/change xxx" in str(body["blocks"])
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in body["blocks"])


async def test_change_ids_beyond_the_database_are_refused_in_a_sentence(bot):
    for text in ("show CHG-999999999999", "show " + "9" * 20, "show " + "7" * 5000):
        reply = await bot.command("alice", text)
        assert reply.status == 200
        answer = reply.json()["text"]
        assert "change numbers go up to CHG-2147483647" in answer
        assert "int_max_str_digits" not in answer and len(answer) < 300
    reply = await bot.command("alice", "show CHG-0")
    assert "CHG-1" in reply.json()["text"]
    reply = await bot.command("alice", "link CHG-99999999999 https://github.com/a/b/pull/1")
    assert "change numbers go up to" in reply.json()["text"]
    reply = await bot.command("alice", "override-security 99999999999 because")
    assert "change numbers go up to" in reply.json()["text"]


async def test_a_nul_byte_in_a_command_is_refused_in_a_sentence(bot):
    reply = await bot.command("alice", "override-security CHG-1 bad\x00reason")
    assert reply.status == 200
    assert "NUL" in reply.json()["text"]
    assert await counts(bot) == (0, 0)


async def _click_value(bot, action_id: str, value: str, user: str = "bob"):
    who = person(user)
    payload = {
        "type": "block_actions", "user": {"id": who.id, "name": who.name},
        "team": slack_requests.TEAM, "trigger_id": slack_requests.new_trigger_id(),
        "channel": {"id": CHANGES}, "container": {"type": "message", "channel_id": CHANGES},
        "response_url": bot.slack.response_url(user=who.id, channel=CHANGES),
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b",
                     "value": value}],
    }
    reply = await bot.interact(payload)
    await bot.settle()
    return reply


async def test_buttons_whose_value_does_not_parse_answer_out_of_date(bot):
    change_id = await propose(bot)
    cases = [("change_approve", "999999999999:r1"), ("change_approve", "abc"),
             ("change_approve", f"{change_id}:r99999999999"), ("change_history", "abc"),
             ("change_reject", ""), ("change_edit", "-1"), ("change_cancel", "1.5"),
             ("security_request_changes", "0"), ("change_history_page_next", "[]"),
             ("change_history_page_next", '{"change_id": 1, "page": -1}'),
             ("change_staging_deployed", "9" * 5000)]
    before = await counts(bot)
    for n, (action_id, value) in enumerate(cases, start=1):
        reply = await _click_value(bot, action_id, value)
        assert reply.status == 200, (action_id, value, reply.text)
        assert answers(bot, "bob")[-1] == OUT_OF_DATE, (action_id, value)
        assert len(answers(bot, "bob")) == n
    assert await counts(bot) == before


async def _submit_raw(bot, view: dict, state: dict, **view_fields):
    who = person("alice")
    payload = slack_requests.view_submission_payload(
        user=who.id, user_name=who.name, view=view, values={},
        trigger_id=slack_requests.new_trigger_id())
    payload["view"] = {**payload["view"], "state": {"values": state}, **view_fields}
    reply = await bot.interact(payload)
    await bot.settle()
    return reply


def _filled_state(view: dict, **values) -> dict:
    return slack_requests.view_state(view, {**PROPOSAL, **values})


async def test_a_proposal_missing_its_risk_block_is_answered_under_risk(bot):
    view = await open_modal(bot, "alice")
    state = _filled_state(view)
    del state["risk"]
    reply = await _submit_raw(bot, view, state)
    assert reply.status == 200
    assert reply.json() == {"response_action": "errors",
                            "errors": {"risk": "This is required."}}
    assert await counts(bot) == (0, 0)


async def test_modal_values_of_the_wrong_shape_are_answered_under_their_field(bot):
    view = await open_modal(bot, "alice")
    broken = [
        ({"risk": {"a": {"type": "static_select", "selected_option": "high"}}}, "risk"),
        ({"title": {"a": {"type": "plain_text_input", "value": 42}}}, "title"),
        ({"title": {"a": {"type": "plain_text_input", "value": "a\x00b"}}}, "title"),
        ({"title": {"a": {"type": "plain_text_input", "value": "a\ud800b"}}}, "title"),
        ({"reviewers": {"a": {"type": "multi_users_select", "selected_users": "U0BOB"}}},
         "reviewers"),
        ({"planned_at": {"a": {"type": "datetimepicker", "selected_date_time": 10**20}}},
         "planned_at"),
        ({"title": "not an object"}, "title"),
    ]
    for patch, field in broken:
        reply = await _submit_raw(bot, view, {**_filled_state(view), **patch})
        assert reply.status == 200, reply.text
        body = reply.json()
        assert body["response_action"] == "errors" and field in body["errors"], (patch, body)
    assert await counts(bot) == (0, 0)


async def test_a_form_whose_private_metadata_is_not_ours_is_out_of_date(bot):
    view = await open_modal(bot, "alice")
    for metadata in ("not json", "[]", '{"change_id": "1"}', '{"change_id": 99999999999}'):
        reply = await _submit_raw(bot, view, _filled_state(view), private_metadata=metadata)
        assert reply.json() == {"response_action": "errors",
                                "errors": {"title": FORM_OUT_OF_DATE}}
    assert await counts(bot) == (0, 0)


async def test_a_reason_modal_with_a_stale_change_is_out_of_date(bot):
    change_id = await propose(bot)
    await bot.click("bob", "change_reject", channel=CHANGES, message=card(bot, change_id))
    await bot.settle()
    view = bot.slack.opened_views()[-1]
    who = person("bob")
    payload = slack_requests.view_submission_payload(
        user=who.id, user_name=who.name, view=view, values={"reason": "No."},
        trigger_id=slack_requests.new_trigger_id())
    payload["view"]["private_metadata"] = "{}"
    reply = await bot.interact(payload)
    assert reply.json() == {"response_action": "errors", "errors": {"reason": FORM_OUT_OF_DATE}}


# ---- 3. nobody meets silence ---------------------------------------------------------------

async def _database_down(bot, tmp_path) -> None:
    """The database stops answering: SQLite at a path that cannot exist, or PostgreSQL at a
    port where nothing listens (connection refused)."""
    from storage.db import Database

    await bot.ctx.db.dispose()
    if bot.ctx.db.is_sqlite:
        bot.ctx.db = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    else:
        bot.ctx.db = Database("postgresql+asyncpg://postgres@127.0.0.1:1/changebot")


async def test_with_the_database_down_every_command_and_click_says_so(bot, tmp_path):
    from handlers.common import DATABASE_DOWN

    change_id = await propose(bot)
    message = card(bot, change_id)
    view = await open_modal(bot, "alice")
    await _database_down(bot, tmp_path)
    assert (await bot.post_get("/healthz")).status == 503

    for text in ("list", "show CHG-1", "list overdue"):
        reply = await bot.command("alice", text)
        assert reply.status == 200
        await bot.settle()
        assert answers(bot)[-1] == DATABASE_DOWN, text
    # Cancel is an option of the card's overflow menu ("…").
    for action_id, chosen in (("change_approve", None), ("change_reject", None),
                              ("change_more", f"{change_id}:change_cancel")):
        reply = await bot.click("bob", action_id, channel=CHANGES, message=message,
                                selected=chosen)
        assert reply.status == 200
        await bot.settle()
        assert answers(bot, "bob")[-1] == DATABASE_DOWN, action_id
    await _click_value(bot, "change_history", str(change_id))
    assert answers(bot, "bob")[-1] == DATABASE_DOWN

    reply = await bot.submit("alice", view, PROPOSAL)
    assert reply.status == 200
    assert reply.json() == {"response_action": "errors", "errors": {"title": DATABASE_DOWN}}


async def test_a_double_click_on_deployed_to_staging_says_it_is_done_already(bot):
    from tests.flows import approved, last_answer

    change_id = await approved(bot)
    message = card(bot, change_id)  # both clicks land on the card as it was shown
    for _ in range(2):
        reply = await bot.click("alice", "change_staging_deployed", channel=CHANGES,
                                message=message)
        assert reply.status == 200
        await bot.settle()
    assert last_answer(bot, "alice") == ("You can't deploy to staging now. This change is in "
                                         "staging already: nothing was changed.")


async def test_a_button_or_command_the_bot_does_not_know_is_answered(bot):
    reply = await _click_value(bot, "change_frobnicate", "1")
    assert reply.status == 200
    assert answers(bot, "bob")[-1] == OUT_OF_DATE
    view = await open_modal(bot, "alice")  # a form it does not know (tests/slack/test_unknown_ids)
    reply = await _submit_raw(bot, view, _filled_state(view), callback_id="gone")
    assert reply.status == 200
    assert reply.json()["response_action"] == "errors"
    who = person("alice")
    body = slack_requests.slash_command_body(
        user=who.id, user_name=who.name, text="x", channel=CHANGES, channel_name="changes",
        response_url="http://127.0.0.1:9/unused", trigger_id="t", command="/deploy")
    reply = await bot.signed(body, FORM)
    assert "try `/change help`" in reply.json()["text"]
