"""A seeded fuzz run through real HTTP: a few hundred requests built from the shapes Slack
sends (commands, button clicks, modal submissions, events), mutated, plus forged and
malformed ones. Never a 5xx, every forgery 401, every command and click answered."""

import json
import os
import random
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.playground.standin import requests as slack_requests
from bot.playground.standin.api import RESPONSE_URL
from bot.playground.standin.workspace import CHANGES, PEOPLE
from tests.flows import approved, card, open_modal, propose
from tests.harness import BotHarness

# Longer runs: CHANGEBOT_FUZZ_SEED=3 CHANGEBOT_FUZZ_REQUESTS=10000 pytest tests/slack/test_fuzz.py
SEED = int(os.environ.get("CHANGEBOT_FUZZ_SEED", "17"))
REQUESTS = int(os.environ.get("CHANGEBOT_FUZZ_REQUESTS", "300"))
FORM = "application/x-www-form-urlencoded"

IDS = ["CHG-1", "1", "chg-2", "CHG-0", "0", "-3", "CHG-999999999999", "9" * 20, "7" * 5000,
       "abc", "CHG-", "CHG-1.5", "CHG-2147483647", "CHG-2147483648", "CHG-\u0661\u0662", ""]
JUNK = ["", " ", "payload", "help me", "x" * 3500, "é" * 4000, "a\x00b", "<@U0BOB>",
        "`code`", "*bold* _it_", "\u202e\u202d", "🙂" * 50, "null", "[]", "{}", "%00",
        "https://github.com/acme/api/pull/1", "CHG-1 because", "2026-01-01 2026-02-01 csv"]
ACTIONS = ["change_approve", "change_reject", "change_edit", "change_cancel",
           "change_history", "change_history_page_later", "change_staging_deployed",
           "change_staging_verify", "change_deploy", "change_verify", "change_rollback",
           "security_approve", "security_request_changes", "home_new_change",
           "change_refresh", "change_retrospective", "no_such_button"]


class Fuzzer:
    def __init__(self, bot: BotHarness, rng: random.Random, real_ids: list[int],
                 views: list[dict], messages: list[dict]) -> None:
        self.bot, self.rng = bot, rng
        self.real_ids, self.views, self.messages = real_ids, views, messages
        self.unknown_form = False

    def pick(self, items: list[Any]) -> Any:
        return self.rng.choice(items)

    def text(self) -> str:
        return self.pick(JUNK + IDS) if self.rng.random() < 0.8 else "".join(
            chr(self.rng.randrange(1, 0x3000)) for _ in range(self.rng.randrange(1, 40)))

    def command_text(self) -> str:
        ref = self.pick(IDS + [f"CHG-{n}" for n in self.real_ids])
        return self.pick([
            "", "help", "new", "list", "list overdue", "list everything", f"show {ref}",
            f"link {ref} {self.text()}", f"github {self.text()}", "emergency",
            f"evidence {self.text()} {self.text()}", f"override-security {ref} {self.text()}",
            f"override-security {ref}", self.text(), f"{self.text()} {self.text()}",
        ])

    def button_value(self) -> str:
        real = self.pick(self.real_ids)
        return self.pick([
            str(real), f"{real}:r1", f"{real}:r{self.rng.randrange(0, 10**12)}", "abc", "",
            "999999999999:r1", "9" * 50, "0", "-1", json.dumps({"change_id": real, "page": 1}),
            json.dumps({"change_id": "x", "page": None}), "[]", self.text(),
        ])

    def state_value(self) -> Any:
        return self.pick([
            {"type": "plain_text_input", "value": self.text()},
            {"type": "plain_text_input", "value": "bad \ud800 half"},
            {"type": "plain_text_input", "value": 42},
            {"type": "static_select", "selected_option": {"value": self.pick(
                ["low", "high", "normal", "standard", "emergency", self.text()])}},
            {"type": "static_select", "selected_option": "high"},
            {"type": "checkboxes", "selected_options": [{"value": self.text()}]},
            {"type": "multi_users_select", "selected_users": ["U0BOB", self.text()]},
            {"type": "multi_users_select", "selected_users": "U0BOB"},
            {"type": "datetimepicker", "selected_date_time": self.pick([0, -5, 10**20, 1e9])},
            {"type": "number_input", "value": None}, {"type": "mystery"}, "junk", None,
        ])

    def submission(self) -> dict:
        view = json.loads(json.dumps(self.pick(self.views)))
        values = {b["block_id"]: {b["element"]["action_id"]: self.state_value()}
                  for b in view.get("blocks", []) if b.get("type") == "input"}
        for block_id in list(values):
            if self.rng.random() < 0.25:
                del values[block_id]
        view["state"] = {"values": values}
        if self.rng.random() < 0.3:
            view["private_metadata"] = self.pick(
                ["not json", "[]", '{"change_id": 99999999999}', '{"change_id": "1"}', "{}",
                 json.dumps({"change_id": self.pick(self.real_ids)})])
        self.unknown_form = self.rng.random() < 0.1  # no listener of ours: "out of date"
        if self.unknown_form:
            view["callback_id"] = self.pick(["gone", "change_proposal_v0", "🙂", "x" * 200])
        return {"type": "view_submission", "team": slack_requests.TEAM,
                "user": self.user(), "trigger_id": slack_requests.new_trigger_id(),
                "view": view, "response_urls": []}

    def user(self) -> dict:
        who = self.pick(PEOPLE)
        return {"id": who.id, "name": who.name, "team_id": "T0TEAM"}

    def click(self) -> dict:
        user = self.user()
        payload: dict[str, Any] = {
            "type": "block_actions", "team": slack_requests.TEAM, "user": user,
            "actions": [{"type": "button", "action_id": self.pick(ACTIONS),
                         "block_id": "b", "value": self.button_value()}],
        }
        if self.rng.random() < 0.8:
            payload["trigger_id"] = slack_requests.new_trigger_id()
        if self.rng.random() < 0.7:
            message = self.pick(self.messages)
            payload.update(channel={"id": CHANGES}, message=message, container={
                "type": "message", "channel_id": CHANGES, "message_ts": message["ts"]})
            if self.rng.random() < 0.8:
                payload["response_url"] = self.bot.slack.response_url(user=user["id"],
                                                                      channel=CHANGES)
        return payload

    def command(self) -> str:
        who = self.pick(PEOPLE)
        return slack_requests.slash_command_body(
            user=who.id, user_name=who.name, text=self.command_text(), channel=CHANGES,
            channel_name="changes", trigger_id=slack_requests.new_trigger_id(),
            response_url=self.bot.slack.response_url(user=who.id, channel=CHANGES))

    def event(self) -> str:
        user = self.pick([self.user()["id"], 5, {"id": "U0BOB"}, "U0\x00", None, ""])
        return json.dumps(slack_requests.event_callback(
            {"type": self.pick(["app_home_opened", "message", "team_join"]), "user": user,
             "tab": self.pick(["home", "messages", 3])}))


ANSWERS = ("chat.postEphemeral", "views.open", "views.update", RESPONSE_URL)


def answered(bot: BotHarness, since: int) -> bool:
    """Did anything reach a person after call number `since`: an ephemeral, a response_url
    answer, a modal, a DM? (Only the new calls are read: long runs stay linear.)"""
    for call in bot.slack.calls[since:]:
        if not call.ok:
            continue
        if call.method in ANSWERS:
            return True
        if call.method == "chat.postMessage" and str(call.args.get("channel", "")).startswith(
                ("U", "D")):
            return True
    return False


async def _send(bot: BotHarness, body: bytes, headers: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    async with bot.http.post(bot.url + "/slack/events", data=body, headers=headers) as r:
        text = await r.text()
    return r.status, text, time.monotonic() - started


def describe(body: bytes) -> str:
    """What a failing request was, short enough to read in the assertion."""
    try:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        payload = json.loads(form["payload"]) if "payload" in form else None
    except (ValueError, KeyError):
        return repr(body[:160])
    if payload is None:
        return repr({k: form.get(k, "")[:80] for k in ("user_id", "text")})
    if not isinstance(payload, dict):
        return repr(payload)[:160]
    return repr({"user": payload.get("user"), "actions": payload.get("actions"),
                 "channel": payload.get("channel"), "trigger": "trigger_id" in payload,
                 "response_url": "response_url" in payload})[:400]


def _signed(body: bytes, content_type: str) -> dict[str, str]:
    from tests.slack.test_bad_input import signed_headers

    return signed_headers(body, content_type)


async def test_a_seeded_fuzz_run_gets_no_5xx_and_no_silence(bot):
    rng = random.Random(SEED)
    first = await approved(bot)
    second = await propose(bot, "carol", reviewers=["U0DAVE"])
    views = [await open_modal(bot, "alice"), await open_modal(bot, "alice", "emergency")]
    fuzz = Fuzzer(bot, rng, [first, second], views, [card(bot, first), card(bot, second)])
    problems: list[str] = []
    slowest, late = 0.0, 0
    for n in range(REQUESTS):
        roll = rng.random()
        if roll < 0.3:
            kind, body, content_type = "command", fuzz.command().encode(), FORM
        elif roll < 0.6:
            kind, content_type = "click", FORM
            body = urlencode({"payload": json.dumps(fuzz.click())}).encode()
        elif roll < 0.8:
            kind, content_type = "submission", FORM
            body = urlencode({"payload": json.dumps(fuzz.submission())}).encode()
        elif roll < 0.87:
            kind, body, content_type = "event", fuzz.event().encode(), "application/json"
        elif roll < 0.94:
            kind, content_type = "malformed", FORM
            body = rng.choice([b"payload=[]", b"payload=%7B", b"\xff\xfe", b"[1]", b"a=b",
                               urlencode({"payload": json.dumps({"type": "block_actions"})})
                               .encode()])
        else:
            kind, body, content_type = "forged", fuzz.command().encode(), FORM
        headers = _signed(body, content_type)
        if kind == "forged":
            headers[rng.choice(["X-Slack-Signature", "X-Slack-Request-Timestamp"])] = (
                rng.choice(["", "abc", "v0=00", str(int(time.time()) - 3600), "🙂"]))
        before = len(bot.slack.calls)
        status, text, took = await _send(bot, body, headers)
        await bot.settle()
        slowest = max(slowest, took)
        label = f"#{n} {kind} {describe(body)} -> {status} {text[:200]}"
        if status >= 500:
            problems.append("5xx: " + label)
        elif kind == "forged" and status != 401:
            problems.append("forgery not refused: " + label)
        elif kind == "malformed" and status != 400:
            problems.append("malformed not refused: " + label)
        elif kind in ("command", "click") and status != 200:
            problems.append("not answered: " + label)
        elif kind in ("command", "click") and not text.strip() and not answered(bot, before):
            problems.append("silence: " + label)
        elif kind == "submission" and status != 200:
            problems.append("submission not answered: " + label)
        elif kind == "submission" and fuzz.unknown_form and "out of date" not in text:
            problems.append("unknown form not called out of date: " + label)
        # Not a problem the test fails on (tests never time; a late ack is Bolt's 404,
        # caught above), but a figure the long runs report.
        late += took >= 3.0
    by_class = Counter(problem.split(":")[0] for problem in problems)
    # The figures of a long run (`pytest -s`), e.g. for the done-when check.
    print(f"\nfuzz seed {SEED}, {REQUESTS} requests on {bot.ctx.db.engine.dialect.name}: "
          f"{by_class['5xx']} answered >= 500, {by_class['forgery not refused']} forgeries "
          f"not 401, {late} "
          f"answered after 3 s (slowest {slowest:.2f}s); {len(problems)} problems in all")
    assert not problems, "\n".join(problems[:20])
