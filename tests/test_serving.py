"""The served app: signatures, health, metrics, and answering Slack inside 3 seconds."""

import asyncio
import time

from sqlmodel import func, select

from bot.playground.standin import requests as slack_requests
from storage.models import AuditEvent, Change
from tests.harness import SIGNING_SECRET


async def test_healthz_answers_200_when_the_database_answers(bot):
    reply = await bot.post_get("/healthz")
    assert reply.status == 200
    assert reply.json() == {"status": "ok"}


async def test_healthz_answers_503_when_the_database_does_not(bot, tmp_path):
    from storage.db import Database

    await bot.ctx.db.dispose()
    bot.ctx.db = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    reply = await bot.post_get("/healthz")
    assert reply.status == 503


async def test_a_signed_command_is_answered(bot):
    reply = await bot.command("alice", "help")
    assert reply.status == 200
    assert "/change new" in reply.text


async def test_unknown_text_answers_with_help_not_an_error(bot):
    reply = await bot.command("alice", "frobnicate now")
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert "I don't know `/change frobnicate now`" in str(body["blocks"])
    assert "/change list" in str(body["blocks"])


async def _body():
    return slack_requests.slash_command_body(
        user="U0ALICE", user_name="alice", text="help", channel="C0CHANGES",
        channel_name="changes", response_url="http://127.0.0.1:9/unused",
        trigger_id=slack_requests.new_trigger_id(),
    )


async def _nothing_happened(bot, calls_before: int) -> None:
    assert len(bot.slack.calls) == calls_before
    async with bot.ctx.db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Change))).one() == 0
        assert (await session.exec(select(func.count()).select_from(AuditEvent))).one() == 0


async def test_a_forged_signature_gets_401_and_changes_nothing(bot):
    body = await _body()
    calls = len(bot.slack.calls)
    headers = slack_requests.sign("not-the-secret", body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    reply = await bot.post("/slack/events", body, headers)
    assert reply.status == 401
    await _nothing_happened(bot, calls)


async def test_an_unsigned_request_gets_401(bot):
    body = await _body()
    calls = len(bot.slack.calls)
    reply = await bot.post(
        "/slack/events", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert reply.status == 401
    await _nothing_happened(bot, calls)


async def test_a_signature_older_than_five_minutes_gets_401(bot):
    body = await _body()
    calls = len(bot.slack.calls)
    headers = slack_requests.sign(SIGNING_SECRET, body, timestamp=int(time.time()) - 6 * 60)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    reply = await bot.post("/slack/events", body, headers)
    assert reply.status == 401
    await _nothing_happened(bot, calls)


async def test_a_tampered_body_gets_401(bot):
    body = await _body()
    headers = slack_requests.sign(SIGNING_SECRET, body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    reply = await bot.post("/slack/events", body.replace("help", "list"), headers)
    assert reply.status == 401


async def test_metrics_count_requests_and_slack_calls(bot):
    await bot.command("alice", "help")
    await bot.command("alice", "list")
    await bot.slack.wait_for_response(user="U0ALICE")
    text = (await bot.post_get("/metrics")).text
    assert 'changebot_http_requests_total{endpoint="/slack/events",status="200"} 2.0' in text
    assert 'changebot_slack_api_calls_total{method="auth.test",outcome="ok"} 1.0' in text
    assert "changebot_errors_total" in text


async def test_the_answer_comes_well_inside_3_seconds_when_slack_is_slow(bot):
    bot.slack.delay("*", 2.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await bot.command("alice", "list")
    answered_in = loop.time() - started
    assert reply.status == 200
    assert answered_in < 1.0, f"answered after {answered_in:.2f}s"
    # The work goes on after the answer, and its result still reaches the person.
    response = await bot.slack.wait_for_response(user="U0ALICE", timeout=10)
    assert "No open changes" in response["text"]


async def test_list_and_show_answer_ephemerally(bot):
    await bot.command("alice", "list")
    listed = await bot.slack.wait_for_response(user="U0ALICE")
    assert listed["response_type"] == "ephemeral"
    reply = await bot.command("alice", "show CHG-99")
    assert reply.status == 200
    shown = await bot.slack.wait_for_response(user="U0ALICE", count=2)
    assert "There is no CHG-99" in shown["text"]


async def test_show_with_a_bad_id_explains_the_format(bot):
    reply = await bot.command("alice", "show banana")
    assert "CHG-12" in reply.json()["text"]


async def test_shutdown_finishes_work_in_flight_before_closing_the_database(bot):
    from storage.models import Reminder
    from tests.flows import PROPOSAL, open_modal

    view = await open_modal(bot, "alice")
    bot.slack.delay("chat.postMessage", 0.5)  # the card is still being posted at shutdown
    reply = await bot.submit("alice", view, PROPOSAL)
    assert reply.status == 200
    await bot.stop()
    bot.stop = _already_stopped  # the fixture's own stop
    assert len(bot.slack.calls_to("chat.postMessage")) >= 1
    from storage.db import Database

    check = Database(bot.ctx.db.url)
    async with check.session() as session:
        rows = (await session.exec(select(Reminder).where(Reminder.kind == "card"))).all()
    await check.dispose()
    assert rows and all(r.sent_at is not None for r in rows)


async def _already_stopped() -> None:
    return None
