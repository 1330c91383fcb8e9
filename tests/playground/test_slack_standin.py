"""The Slack stand-in, driven only through the real slack_sdk AsyncWebClient."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_async_handlers
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.playground.standin import FakeSlack
from bot.runtime.clock import ManualClock
from tests.fake_github import fixture

TOKEN = "xoxb-test"
ALICE, BOB = "U0ALICE", "U0BOB"
CHANGES = "C0CHANGES"

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*CHG-1* Upgrade Postgres"}}
BUTTON = {
    "type": "actions",
    "block_id": "decide",
    "elements": [{"type": "button", "action_id": "approve",
                  "text": {"type": "plain_text", "text": "Approve"}, "value": "1"}],
}
MODAL = {
    "type": "modal",
    "callback_id": "new_change",
    "title": {"type": "plain_text", "text": "New change"},
    "submit": {"type": "plain_text", "text": "Submit"},
    "blocks": [{
        "type": "input", "block_id": "title",
        "label": {"type": "plain_text", "text": "Title"},
        "element": {"type": "plain_text_input", "action_id": "value"},
    }],
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))


@pytest.fixture
async def fake(clock):
    async with FakeSlack(bot_token=TOKEN, clock=clock.now) as slack:
        slack.add_user(ALICE, "alice", real_name="Alice Engineer", email="alice@example.com")
        slack.add_user(BOB, "bob", tz="Europe/Paris")
        slack.add_channel(CHANGES, "changes")
        slack.add_usergroup("S0SECURITY", "security", [BOB])
        yield slack


@pytest.fixture
def client(fake) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.base_url)


async def expect_error(call, error: str) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        await call
    assert raised.value.response["error"] == error, raised.value.response.data
    return raised.value


# ---- auth and people --------------------------------------------------------------------------


async def test_auth_test_names_the_bot_and_a_wrong_token_is_refused(fake, client):
    me = await client.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == ("U0BOT", "B0BOT", "T0TEAM")
    assert "chat:write" in me.headers["X-OAuth-Scopes"]
    stranger = AsyncWebClient(token="xoxb-wrong", base_url=fake.base_url)
    await expect_error(stranger.auth_test(), "invalid_auth")
    assert [c.outcome for c in fake.calls_to("auth.test")] == ["ok", "invalid_auth"]
    assert "token" not in fake.calls[0].args


async def test_users_and_usergroups(client):
    alice = (await client.users_info(user=ALICE))["user"]
    assert alice["profile"]["email"] == "alice@example.com"
    assert alice["real_name"] == "Alice Engineer"
    assert (await client.users_info(user=BOB))["user"]["tz_offset"] in (3600, 7200)
    found = await client.users_lookupByEmail(email="ALICE@example.com")
    assert found["user"]["id"] == ALICE
    await expect_error(client.users_lookupByEmail(email="nobody@example.com"), "users_not_found")
    await expect_error(client.users_info(user="U0NOBODY"), "user_not_found")
    assert (await client.usergroups_users_list(usergroup="S0SECURITY"))["users"] == [BOB]
    await expect_error(client.usergroups_users_list(usergroup="S0NONE"), "no_such_subteam")


# ---- messages ---------------------------------------------------------------------------------


async def test_post_update_and_thread(fake, client):
    metadata = {"event_type": "change_card", "event_payload": {"change_id": 1}}
    posted = await client.chat_postMessage(
        channel=CHANGES, text="CHG-1", blocks=[SECTION, BUTTON], metadata=metadata
    )
    assert posted["channel"] == CHANGES
    assert posted["message"]["blocks"] == [SECTION, BUTTON]
    reply = await client.chat_postMessage(
        channel="#changes", text="approved", thread_ts=posted["ts"]
    )
    assert float(reply["ts"]) > float(posted["ts"])

    updated = await client.chat_update(channel=CHANGES, ts=posted["ts"], text="CHG-1 (approved)")
    assert updated["message"]["blocks"] == [SECTION, BUTTON]  # blocks left out are kept
    await expect_error(client.chat_update(channel=CHANGES, ts="1.000001", text="x"),
                       "message_not_found")

    card, answer = fake.messages(CHANGES)
    assert card["text"] == "CHG-1 (approved)" and card["metadata"] == metadata
    assert card["reply_count"] == 1 and card["thread_ts"] is None  # top-level: None here
    assert answer["thread_ts"] == posted["ts"]
    assert (answer["user"], answer["text"]) == ("U0BOT", "approved")
    assert fake.message(CHANGES, posted["ts"])["edited"]["user"] == "U0BOT"
    with pytest.raises(KeyError):
        fake.message(CHANGES, "1.000001")


async def test_history_is_newest_first_with_metadata_only_on_request(client):
    metadata = {"event_type": "change_card", "event_payload": {"key": "chg-1"}}
    first = await client.chat_postMessage(channel=CHANGES, text="one", metadata=metadata)
    await client.chat_postMessage(channel=CHANGES, text="reply", thread_ts=first["ts"])
    await client.chat_postMessage(channel=CHANGES, text="two")

    history = await client.conversations_history(channel=CHANGES, include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["two", "one"]
    assert history["messages"][1]["metadata"] == metadata
    plain = await client.conversations_history(channel=CHANGES)
    assert "metadata" not in plain["messages"][1]
    page = await client.conversations_history(channel=CHANGES, limit=1)
    assert page["has_more"] and page["messages"][0]["text"] == "two"
    rest = await client.conversations_history(
        channel=CHANGES, limit=1, cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["one"] and not rest["has_more"]

    thread = await client.conversations_replies(channel=CHANGES, ts=first["ts"])
    assert [m["text"] for m in thread["messages"]] == ["one", "reply"]
    assert [m["thread_ts"] for m in thread["messages"]] == [first["ts"]] * 2  # as Slack
    link = await client.chat_getPermalink(channel=CHANGES, message_ts=first["ts"])
    assert link["permalink"].endswith(f"/archives/{CHANGES}/p{first['ts'].replace('.', '')}")


async def test_ts_are_unique_and_increasing_even_when_the_clock_stands_still(fake, client, clock):
    stamps = [(await client.chat_postMessage(channel=CHANGES, text=str(i)))["ts"]
              for i in range(3)]
    assert stamps[0] == f"{int(clock.now().timestamp())}.000000"
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 3
    assert fake.calls[0].at == clock.now()


async def test_ephemeral(fake, client):
    answer = await client.chat_postEphemeral(channel=CHANGES, user=ALICE, text="only you")
    assert answer["message_ts"]
    assert [e["text"] for e in fake.ephemerals(ALICE)] == ["only you"]
    assert fake.ephemerals(BOB) == [] and fake.messages(CHANGES) == []
    await expect_error(client.chat_postEphemeral(channel=CHANGES, user="U0X", text="x"),
                       "user_not_found")


async def test_direct_messages_through_conversations_open(fake, client):
    opened = await client.conversations_open(users=ALICE)
    dm = opened["channel"]["id"]
    assert dm.startswith("D") and dm == fake.dm_channel(ALICE)
    again = await client.conversations_open(users=[ALICE])
    assert again["channel"]["id"] == dm and again["already_open"]
    await client.chat_postMessage(channel=dm, text="via the DM id")
    by_user = await client.chat_postMessage(channel=ALICE, text="via the user id")
    assert by_user["channel"] == dm
    assert [m["text"] for m in fake.dms(ALICE)] == ["via the DM id", "via the user id"]
    assert fake.dms(BOB) == []
    await expect_error(client.conversations_open(users="U0NOBODY"), "user_not_found")


async def test_form_encoded_and_get_requests_are_decoded(fake, client):
    await client.api_call("chat.postMessage", data={
        "channel": CHANGES, "text": "form", "blocks": json.dumps([SECTION]),
        "metadata": json.dumps({"event_type": "t", "event_payload": {"a": 1}}),
    })
    message = fake.messages(CHANGES)[0]
    assert message["blocks"] == [SECTION] and message["metadata"]["event_payload"] == {"a": 1}
    opened = await client.api_call("views.open", http_verb="GET",
                                   params={"trigger_id": "1.2.abc", "view": json.dumps(MODAL)})
    assert opened["view"]["callback_id"] == "new_change"


# ---- Block Kit validation ---------------------------------------------------------------------


async def test_invalid_blocks_are_refused_like_slack(fake, client):
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    error = await expect_error(
        client.chat_postMessage(channel=CHANGES, text="t", blocks=[too_long]), "invalid_blocks"
    )
    assert "3000" in error.response["errors"][0] and "/blocks/0" in error.response["errors"][0]
    await expect_error(client.chat_postMessage(channel=CHANGES, text="t", blocks=[SECTION] * 51),
                       "invalid_blocks")
    bare = {"type": "header", "text": "a bare string"}
    await expect_error(client.chat_postMessage(channel=CHANGES, text="t", blocks=[bare]),
                       "invalid_blocks")
    await expect_error(client.chat_postMessage(channel=CHANGES, text="t", blocks=[{"type": "x"}]),
                       "invalid_blocks")
    with pytest.warns(UserWarning, match="top-level `text`"):  # slack_sdk's own warning
        await expect_error(client.chat_postMessage(channel=CHANGES), "no_text")
    await expect_error(client.chat_postMessage(channel="C0NOPE", text="t"), "channel_not_found")
    await expect_error(client.chat_postMessage(channel=CHANGES, text="t", metadata={"x": 1}),
                       "invalid_metadata_format")
    assert fake.messages(CHANGES) == []
    await client.chat_postMessage(channel=CHANGES, text="t", blocks=[SECTION] * 50)


async def test_invalid_views_are_refused(client):
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
    error = await expect_error(client.views_open(trigger_id="1.2.a", view=long_title),
                               "invalid_arguments")
    assert "24" in error.response["response_metadata"]["messages"][0]
    no_submit = {key: value for key, value in MODAL.items() if key != "submit"}
    await expect_error(client.views_open(trigger_id="1.2.a", view=no_submit), "invalid_arguments")
    await expect_error(client.views_open(trigger_id="", view=MODAL), "invalid_trigger_id")


# ---- views ------------------------------------------------------------------------------------


async def test_views_open_update_push_and_publish(fake, client):
    opened = (await client.views_open(trigger_id="12345.98765.abcd", view=MODAL))["view"]
    assert opened["id"].startswith("V") and opened["hash"]
    assert opened["state"] == {"values": {}} and opened["root_view_id"] == opened["id"]
    assert opened["title"] == MODAL["title"]

    changed = {**MODAL, "title": {"type": "plain_text", "text": "Edit change"}}
    updated = (await client.views_update(view_id=opened["id"], view=changed))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    await expect_error(client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL),
                       "hash_conflict")
    await expect_error(client.views_update(view_id="V0NOPE", view=MODAL), "not_found")

    pushed = (await client.views_push(trigger_id="12345.98765.abce", view=MODAL))["view"]
    assert pushed["previous_view_id"] == opened["id"]
    assert [v["id"] for v in fake.opened_views()] == [opened["id"], pushed["id"]]
    assert fake.view(opened["id"])["title"]["text"] == "Edit change"

    fixture_modal = fixture("python-slack-sdk/tests/data/view_modal_001.json")
    by_external = {**fixture_modal, "external_id": "chg-1"}
    await client.views_open(trigger_id="1.2.c", view=by_external)
    again = await client.views_update(external_id="chg-1", view={**by_external, "callback_id": "x"})
    assert again["view"]["callback_id"] == "x"

    home = fixture("python-slack-sdk/tests/data/view_home_002.json")
    published = (await client.views_publish(user_id=ALICE, view=home))["view"]
    assert fake.home(ALICE)["id"] == published["id"] and fake.home(BOB) is None
    await expect_error(client.views_publish(user_id=ALICE, view=MODAL), "invalid_arguments")


async def test_issued_triggers_are_single_use_and_expire(fake, client, clock):
    trigger = fake.issue_trigger(ALICE)
    view = (await client.views_open(trigger_id=trigger, view=MODAL))["view"]
    assert [v["id"] for v in fake.view_stack(ALICE)] == [view["id"]]
    await expect_error(client.views_open(trigger_id=trigger, view=MODAL), "exchanged_trigger_id")
    late = fake.issue_trigger(ALICE)
    clock.advance(timedelta(seconds=4))
    await expect_error(client.views_open(trigger_id=late, view=MODAL), "expired_trigger_id")
    fake.close_view(view["id"])
    assert fake.view_stack(ALICE) == []


# ---- files ------------------------------------------------------------------------------------


async def test_files_upload_v2_is_stored_and_shared(fake, client):
    result = await client.files_upload_v2(
        channel=CHANGES, content=b"# Evidence\n", filename="x.md", initial_comment="evidence"
    )
    assert result["file"]["name"] == "x.md"
    methods = [c.method for c in fake.calls]
    assert methods == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    (stored,) = fake.uploaded_files()
    assert stored["content"] == b"# Evidence\n" and stored["channels"] == [CHANGES]
    (shared,) = fake.messages(CHANGES)
    assert shared["text"] == "evidence" and shared["files"][0]["id"] == stored["id"]


# ---- faults -----------------------------------------------------------------------------------


async def test_429_is_retried_by_the_rate_limit_handler(fake, monkeypatch):
    monkeypatch.setattr(builtin_async_handlers.random, "random", lambda: 0.0)  # no jitter
    fake.rate_limit("chat.postMessage", retry_after=0)
    client = AsyncWebClient(token=TOKEN, base_url=fake.base_url,
                            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    await client.chat_postMessage(channel=CHANGES, text="once")
    assert len(fake.messages(CHANGES)) == 1
    assert [c.outcome for c in fake.calls_to("chat.postMessage")] == ["ratelimited", "ok"]


async def test_429_carries_retry_after(fake, client):
    fake.rate_limit("*", retry_after=7)
    error = await expect_error(client.auth_test(), "ratelimited")
    assert error.response.status_code == 429 and error.response.headers["Retry-After"] == "7"


async def test_500_is_retried_by_the_server_error_handler(fake):
    fake.fail("chat.postMessage", times=2)
    handler = AsyncServerErrorRetryHandler(
        max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
    )
    client = AsyncWebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[handler])
    await client.chat_postMessage(channel=CHANGES, text="once")
    assert [c.fault for c in fake.calls_to("chat.postMessage")] == ["http_500", "http_500", None]
    assert len(fake.messages(CHANGES)) == 1


async def test_error_answers_are_consumed_in_order_and_can_be_cleared(fake, client):
    fake.error("chat.postMessage", "not_in_channel", times=2)
    fake.error("*", "fatal_error")
    for _ in range(2):
        await expect_error(client.chat_postMessage(channel=CHANGES, text="t"), "not_in_channel")
    await expect_error(client.auth_test(), "fatal_error")
    await client.chat_postMessage(channel=CHANGES, text="t")
    fake.fail("*", times=None)
    fake.clear_faults()
    await client.auth_test()
    await expect_error(client.api_call("chat.frobnicate"), "unknown_method")


async def test_delay_slows_every_answer_of_the_method(fake, client):
    fake.delay("auth.test", 0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.auth_test()
    assert loop.time() - started >= 0.2
    started = loop.time()
    await client.users_info(user=ALICE)
    assert loop.time() - started < 0.2


# ---- waiting and watching ---------------------------------------------------------------------


async def test_wait_for_returns_when_the_call_arrives(fake, client):
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel=CHANGES, text="a")
        await client.chat_postMessage(channel=ALICE, text="b")

    task = asyncio.create_task(later())
    calls = await fake.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == ALICE)
    assert calls[0].args["text"] == "b" and calls[0].response["channel"] == fake.dm_channel(ALICE)
    await task


async def test_wait_for_times_out_with_the_recorded_calls(fake, client):
    await client.auth_test()
    with pytest.raises(AssertionError, match=r"(?s)chat\.postMessage.*auth\.test -> ok"):
        await fake.wait_for("chat.postMessage", timeout=0.05)


async def test_subscribers_hear_every_change(fake, client):
    events = fake.subscribe()
    posted = await client.chat_postMessage(channel=CHANGES, text="a")
    await client.chat_update(channel=CHANGES, ts=posted["ts"], text="b")
    await client.views_open(trigger_id="1.2.3", view=MODAL)
    fake.unsubscribe(events)
    await client.chat_postMessage(channel=CHANGES, text="unheard")
    kinds = [e["type"] for e in _drain(events) if e["type"] != "api_call"]
    assert kinds == ["message_posted", "message_updated", "view_opened"]


def _drain(queue: asyncio.Queue) -> list[dict]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


async def test_response_url_answers_reach_the_person(fake):
    # Bolt's respond() posts through slack_sdk's AsyncWebhookClient.
    webhook = AsyncWebhookClient(fake.response_url(user=ALICE, channel=CHANGES))
    assert (await webhook.send(text="only you")).status_code == 200
    assert (await webhook.send(text="all", response_type="in_channel")).status_code == 200
    refused = await webhook.send(text="t", blocks=[{"type": "x"}])
    assert (refused.status_code, refused.body) == (400, "invalid_blocks")
    assert (await fake.wait_for_response(user=ALICE))["text"] == "only you"
    assert [e["text"] for e in fake.ephemerals(ALICE)] == ["only you"]
    assert [m["text"] for m in fake.messages(CHANGES)] == ["all"]


async def test_response_url_replaces_the_original_message(fake, client):
    posted = await client.chat_postMessage(channel=CHANGES, text="card", blocks=[BUTTON])
    url = fake.response_url(user=ALICE, channel=CHANGES, message_ts=posted["ts"])
    await AsyncWebhookClient(url).send(text="approved", replace_original=True)
    (card,) = fake.messages(CHANGES)
    assert (card["text"], card["blocks"]) == ("approved", [])
