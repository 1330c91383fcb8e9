"""`changebot playground`: the real bot and the stand-in on one port, driven through the
page's API (the browser tests in test_playground_browser.py drive the page itself)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.playground.server import Playground, start, start_time
from bot.playground.standin import requests as slack_requests
from bot.playground.standin.workspace import ALICE, BOB, CHANGES, demo_policy
from bot.runtime.clock import ManualClock
from bot.slack import outbox as notify
from tests.conftest import WEDNESDAY_10AM

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def playground(database_url):
    started = await start(database_url=database_url, clock=ManualClock(WEDNESDAY_10AM))
    yield started
    await started.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def page_api(http: aiohttp.ClientSession, playground: Playground, path: str,
                   **body) -> tuple[int, dict]:
    async with http.post(playground.url + "playground/" + path, json=body) as response:
        return response.status, await response.json()


async def state(http, playground, user: str = ALICE.id) -> dict:
    async with http.get(playground.url + f"playground/state?user={user}") as response:
        assert response.status == 200
        return await response.json()


async def schedule_dm(playground: Playground, key: str, text: str, due_in: timedelta) -> None:
    """A direct message due later, scheduled the way the bot's use cases schedule theirs."""
    ctx = playground.ctx
    async with ctx.db.session() as session:
        await notify.schedule(session, ctx, key=key, kind="dm", recipient=ALICE.id,
                              payload={"text": text, "link_card": False},
                              due_at=ctx.clock.now() + due_in)


# ---- the command ------------------------------------------------------------------------


async def test_the_command_needs_no_configuration_and_prints_the_page_address(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DATABASE_URL", "CHANGEBOT_", "GITHUB_"))}
    env["PYTHONPATH"] = str(ROOT)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "playground", "--port", "0", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(30):
            first = (await process.stdout.readline()).decode()  # type: ignore[union-attr]
        assert first.startswith("Changebot playground: open http://127.0.0.1:"), first
        url = first.split("open ", 1)[1].split()[0]
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as page:
                assert page.status == 200
                assert "<title>Changebot playground</title>" in await page.text()
            async with http.get(url + "healthz") as health:
                assert health.status == 200
            async with http.post(url + "playground/command", json={
                "user": ALICE.id, "channel": CHANGES, "text": "/change help"}) as done:
                assert (await done.json())["ok"] is True
            async with http.get(url + f"playground/state?user={ALICE.id}") as seen:
                messages = (await seen.json())["messages"]
        assert "/change new" in messages[-1]["html"]  # the bot's answer, only for alice
        assert messages[-1]["for"] == ALICE.id
        assert (tmp_path / "playground.db").exists()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            code = await process.wait()
    assert code == 0


def playground_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DATABASE_URL", "CHANGEBOT_", "GITHUB_", "PORT"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


async def playground_process(folder: Path, port: int,
                             ) -> tuple[asyncio.subprocess.Process, list[str]]:
    """`changebot playground` in `folder`, once it has printed its start-up lines."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "playground", "--port", str(port), cwd=folder,
        env=playground_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []
    async with asyncio.timeout(30):
        while not lines or lines[-1] != "Press Ctrl+C to stop.":
            line = (await process.stdout.readline()).decode()  # type: ignore[union-attr]
            assert line, (await process.stderr.read()).decode()  # type: ignore[union-attr]
            lines.append(line.rstrip("\n"))
    return process, lines


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    async with asyncio.timeout(15):
        out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_second_playground_never_deletes_the_running_ones_database(tmp_path):
    port = free_port()
    first, lines = await playground_process(tmp_path, port)
    url = lines[0].split("open ", 1)[1].split()[0]
    try:
        async with aiohttp.ClientSession() as http, http.post(url + "playground/command", json={
                "user": ALICE.id, "channel": CHANGES, "text": "/change help"}) as done:
            assert (await done.json())["ok"] is True
        database = (tmp_path / "playground.db").stat().st_ino

        same_port = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "playground", "--port", str(port), cwd=tmp_path,
            env=playground_env(), stderr=asyncio.subprocess.PIPE)
        _, err = await same_port.communicate()
        assert same_port.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in err.decode()

        other_port = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "playground", "--port", str(free_port()),
            cwd=tmp_path, env=playground_env(), stderr=asyncio.subprocess.PIPE)
        _, err = await other_port.communicate()
        assert other_port.returncode == 1
        assert err.decode() == ("changebot playground: playground.db in this folder is open in "
                                "another process (a playground still running?); stop it, or "
                                "start this one in another folder.\n")

        assert (tmp_path / "playground.db").stat().st_ino == database
        async with aiohttp.ClientSession() as http, \
                http.get(url + f"playground/state?user={ALICE.id}") as seen:
            assert "/change new" in (await seen.json())["messages"][-1]["html"]  # still there
    finally:
        code, _ = await stop(first)
    assert code == 0


async def test_the_playground_prints_the_command_that_exports_its_evidence(tmp_path):
    process, lines = await playground_process(tmp_path, 0)
    try:
        command = lines[lines.index("  Export this run's evidence pack (from another terminal, "
                                    "or after stopping):") + 1].split()
    finally:
        code, out = await stop(process)
    assert code == 0
    assert command[0] == f"DATABASE_URL=sqlite+aiosqlite:///{tmp_path}/playground.db"
    assert command[1:3] == ["changebot", "evidence"]
    stopped = out.splitlines()[-1].split()
    assert stopped[:3] == command[:3] and stopped[3:5] == command[3:5]  # same first day

    env = {**playground_env(), "DATABASE_URL": command[0].split("=", 1)[1]}
    exported = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *command[2:], cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out_bytes, err = await exported.communicate()
    assert exported.returncode == 0, err.decode()
    assert out_bytes.decode().startswith("# Change evidence pack: ")


# ---- one code path ----------------------------------------------------------------------


async def test_the_bot_calls_the_stand_in_through_slack_sdk_over_http(playground, http):
    status, answer = await page_api(http, playground, "command", user=ALICE.id,
                                    channel=CHANGES, text="/change new")
    assert (status, answer["ok"]) == (200, True)
    await playground.slack.wait_for("views.open", where=lambda c: c.ok)
    assert playground.ctx.slack.base_url == playground.url + "standin/api/"
    (modal,) = playground.slack.view_stack(ALICE.id)
    assert modal["title"]["text"] == "Propose a change"
    assert (await state(http, playground))["modal"]["id"] == modal["id"]
    assert (await state(http, playground, BOB.id))["modal"] is None  # alice's, not bob's


async def test_the_bot_refuses_a_request_not_signed_with_the_secret_made_at_start(
    playground, http
):
    body = slack_requests.slash_command_body(
        user=ALICE.id, user_name="alice", text="help", channel=CHANGES, channel_name="changes",
        response_url="http://127.0.0.1:9/unused", trigger_id="1.2.3",
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               **slack_requests.sign("test-signing-secret", body)}
    async with http.post(playground.url + "slack/events", data=body, headers=headers) as reply:
        assert reply.status == 401


async def test_submitting_the_modal_proposes_and_posts_the_card(playground, http):
    await page_api(http, playground, "command", user=ALICE.id, channel=CHANGES,
                   text="/change new")
    view = (await playground.slack.wait_for("views.open", where=lambda c: c.ok))[0]
    view_id = view.response["view"]["id"]
    values = {"title": "Add an index", "description": "Faster report", "category": "normal",
              "risk": "low", "rollback_plan": "Drop it", "testing": "Ran it",
              "reviewers": [BOB.id]}
    status, answer = await page_api(http, playground, "submit", user=ALICE.id,
                                    view_id=view_id, values=values)
    assert (status, answer) == (200, {"ok": True, "error": None, "errors": {}})
    assert playground.slack.view_stack(ALICE.id) == []  # an empty ack closes the modal
    await playground.slack.wait_for("chat.postMessage", where=lambda c: c.ok
                                    and c.args["channel"] == CHANGES)
    card = playground.slack.messages(CHANGES)[-1]
    assert card["text"].startswith("CHG-1 · Add an index")


async def test_field_errors_come_back_for_the_page_and_the_modal_stays(playground, http):
    await page_api(http, playground, "command", user=ALICE.id, channel=CHANGES,
                   text="/change new")
    view = (await playground.slack.wait_for("views.open", where=lambda c: c.ok))[0]
    status, answer = await page_api(
        http, playground, "submit", user=ALICE.id, view_id=view.response["view"]["id"],
        values={"title": "x", "description": "y", "category": "normal", "risk": "low",
                "rollback_plan": "z",
                "testing": "t", "pr_url": "github.com/acme/api/issues/1"})
    assert status == 200 and answer["ok"] is False
    assert set(answer["errors"]) == {"pr_url"}
    assert "Paste a link like https://github.com/acme/api/pull/123" in answer["errors"]["pr_url"]
    assert len(playground.slack.view_stack(ALICE.id)) == 1
    assert playground.slack.calls_to("chat.postMessage") == []


# ---- files and the icon -----------------------------------------------------------------


async def test_a_shared_file_shows_with_a_download_link_and_a_markdown_preview(playground, http):
    bot = AsyncWebClient(token=playground.slack.bot_token, base_url=playground.slack.base_url)
    pack = (b"# Evidence pack\n\n| Change | Status |\n|---|---|\n| CHG-1 | **done** |\n"
            b"<script>x</script>\n")
    await bot.files_upload_v2(channel=CHANGES, content=pack, filename="evidence.md",
                              initial_comment="The evidence pack is ready below")
    (shown,) = [m for m in (await state(http, playground))["messages"] if "bk-file" in m["html"]]
    html = shown["html"]
    assert "The evidence pack is ready below" in html
    assert "<h1>Evidence pack</h1>" in html
    assert "<td>CHG-1</td>" in html and "<strong>done</strong>" in html
    assert "<script>" not in html  # raw HTML in a file is text
    link = re.search(r'href="(/playground/files/[^"]+)"', html)
    assert link, html
    async with http.get(playground.url.rstrip("/") + link.group(1)) as download:
        assert download.status == 200
        assert download.headers["Content-Disposition"] == "attachment; filename*=UTF-8''evidence.md"
        assert await download.read() == pack
    async with http.get(playground.url + "playground/files/F0NOPE/x.md") as missing:
        assert missing.status == 404


async def test_the_page_has_an_icon(playground, http):
    async with http.get(playground.url + "favicon.ico") as icon:
        assert icon.status == 200
        assert icon.headers["Content-Type"] == "image/svg+xml"
        assert (await icon.text()).startswith("<svg")


# ---- the clock --------------------------------------------------------------------------


@pytest.mark.parametrize(("now", "starts"), [
    (datetime(2026, 11, 25, 10, 17, 33, tzinfo=UTC), datetime(2026, 11, 25, 10, 17, tzinfo=UTC)),
    (datetime(2026, 11, 25, 21, 34, tzinfo=UTC), datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
    (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
])
def test_the_clock_starts_now_or_at_the_next_business_hour(now, starts):
    assert start_time(demo_policy(), now) == starts


async def test_advancing_the_clock_sends_each_reminder_at_its_own_due_time(playground, http):
    await schedule_dm(playground, "a", "half an hour later", timedelta(minutes=30))
    await schedule_dm(playground, "b", "two hours later", timedelta(hours=2))

    status, moved = await page_api(http, playground, "clock", minutes=30)
    assert (status, moved["sent"], moved["clock"]) == (200, 1, "Wed 25 Nov 2026, 10:30 UTC")
    assert [m["text"] for m in playground.slack.dms(ALICE.id)] == ["half an hour later"]

    status, moved = await page_api(http, playground, "clock", minutes=24 * 60)
    assert (moved["sent"], moved["clock"]) == (1, "Thu 26 Nov 2026, 10:30 UTC")
    dms = playground.slack.dms(ALICE.id)
    assert [m["text"] for m in dms] == ["half an hour later", "two hours later"]
    sent_at = [float(m["ts"]) for m in dms]
    start = WEDNESDAY_10AM.timestamp()
    assert sent_at == [start + 30 * 60, start + 2 * 3600]  # not at the end of the day


async def test_the_clock_only_moves_forward_and_by_at_most_a_week(playground, http):
    for minutes in (0, -30, 8 * 24 * 60, "soon"):
        status, answer = await page_api(http, playground, "clock", minutes=minutes)
        assert status == 400, minutes
    assert playground.clock.now() == WEDNESDAY_10AM


# ---- what the page is told ---------------------------------------------------------------


async def test_the_page_refuses_an_unknown_person_and_an_unknown_command(playground, http):
    status, answer = await page_api(http, playground, "command", user="U0MALLORY",
                                    channel=CHANGES, text="/change new")
    assert status == 400 and "no such person" in answer["error"]
    status, answer = await page_api(http, playground, "command", user=ALICE.id,
                                    channel=CHANGES, text="/deploy now")
    assert status == 200 and answer["ok"] is False
    assert answer["error"].startswith("/deploy is not a valid command")
    assert playground.slack.calls_to("views.open") == []


async def test_live_events_carry_rendered_messages(playground, http):
    async with http.get(playground.url + "playground/events") as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        assert await stream.content.readline() == b": connected\n"
        await stream.content.readline()
        await page_api(http, playground, "message", user=BOB.id, channel=CHANGES,
                       text="*Deploying* the cache fix")
        async with asyncio.timeout(5):
            line = await stream.content.readline()
    assert line.startswith(b"data: ")
    event = json.loads(line[len(b"data: "):])
    assert event["type"] == "message" and event["new"] is True
    assert event["item"]["author"] == "Bob Reviewer"
    assert event["item"]["html"] == '<div class="bk-text"><b>Deploying</b> the cache fix</div>'
