"""The gates where changes ship, from a running `changebot serve` (a real process, GitHub App
mode, on the real clock) against the Slack stand-in and the fake GitHub: the `Changebot`
check run stays pending until the approval and turns green after it; a deployment job
waiting on the protection rule is approved once staging is verified; a rejected change's job
is rejected. Each outcome is polled for on the fake GitHub, with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from bot.playground.standin.workspace import CHANGES
from tests.fake_github import FakeGitHub
from tests.flows import PROPOSAL, STAGING_CHECKS, buttons, card, cards
from tests.github.app_keys import APP_ID, INSTALLATION, key_pair
from tests.github.gates_harness import protection_rule
from tests.github_flows import BEFORE, OWNER, PR_URL, REPO, TOKEN, add_example_pull, webhook
from tests.served import ServedBot, served

T = TypeVar("T")
DEADLINE = 30.0  # seconds: generous, the machines running the suite are often busy
OTHER = "0c1f0e7ad2a1c8e1d54b0d5b3e0e9e5c2a7b4f10"  # the head of a second pull request
# The served bot runs on the real clock: every hour of every day is business hours here.
ALWAYS_OPEN = {"CHANGEBOT_BUSINESS_HOURS__DAYS": "mon-sun",
               "CHANGEBOT_BUSINESS_HOURS__START": "00:00",
               "CHANGEBOT_BUSINESS_HOURS__END": "23:59"}


async def until(bot: ServedBot, what: str, found: Callable[[], T | None]) -> T:
    """Poll `found` until it gives something, or fail after DEADLINE with the bot's log."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        value = found()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE:g} s\n{bot.log()}")
        await asyncio.sleep(0.05)


def check(fake: FakeGitHub, sha: str) -> dict[str, Any]:
    return fake.check_runs(OWNER, REPO, sha).get("Changebot") or {}


def answers(fake: FakeGitHub, run_id: int) -> list[dict[str, Any]]:
    return fake.protection_answers_for(OWNER, REPO, run_id)


async def modal(bot: ServedBot, user: str, opens: Any) -> dict:
    """Do what opens a modal (a command, a click) and return the modal once it is open."""
    before = len(bot.slack.opened_views())
    reply = await opens
    assert reply.status == 200, reply.text
    await until(bot, "the modal opens", lambda: len(bot.slack.opened_views()) > before)
    return bot.slack.opened_views()[-1]


async def propose(bot: ServedBot, pr_url: str) -> int:
    before = len(cards(bot))
    view = await modal(bot, "alice", bot.command("alice", "new"))
    reply = await bot.submit("alice", view, {**PROPOSAL, "pr_url": pr_url})
    assert reply.status == 200 and not reply.text.strip(), reply.text
    return len(await until(bot, "the card is posted",
                           lambda: cards(bot) if len(cards(bot)) > before else None))


async def press(bot: ServedBot, user: str, action_id: str, change_id: int) -> Any:
    """Press a button once the card shows it (the card is redrawn after each step)."""
    def offering() -> dict | None:
        message = card(bot, change_id)
        return message if action_id in buttons(message) else None

    message = await until(bot, f"the card offers {action_id}", offering)
    return await bot.click(user, action_id, channel=CHANGES, message=message)


@pytest.fixture
async def github():
    async with FakeGitHub(token=TOKEN) as fake:
        fake.enable_app(APP_ID, key_pair()[1])
        fake.add_installation(INSTALLATION, (OWNER, REPO))
        add_example_pull(fake)
        fake.add_check_run(OWNER, REPO, BEFORE, "build")
        fake.add_pull(OWNER, REPO, 3, title="Drop the legacy cache", author="carol-gh",
                      head_sha=OTHER)
        fake.add_check_run(OWNER, REPO, OTHER, "build")
        yield fake


async def test_the_gates_hold_from_a_running_changebot_serve(slack, database_url, tmp_path,
                                                             github):
    env = {"GITHUB_APP_ID": str(APP_ID), "GITHUB_APP_PRIVATE_KEY": key_pair()[0],
           **ALWAYS_OPEN}
    async with served(slack=slack, database_url=database_url, workdir=tmp_path,
                      github=github, env=env) as bot:
        # The merge gate: pending until the approval, then green.
        change_id = await propose(bot, PR_URL)
        run = await until(bot, "the Changebot check is created", lambda: check(github, BEFORE))
        assert (run["status"], run["output"]["title"]) == (
            "in_progress", f"CHG-{change_id}: 0 of 1 approval")
        await press(bot, "bob", "change_approve", change_id)
        await until(bot, "the check turns green",
                    lambda: check(github, BEFORE).get("conclusion") == "success")
        assert len(github.created_check_runs(OWNER, REPO, BEFORE, "Changebot")) == 1

        # The deploy gate: the job waits (staging is missing), then is approved.
        reply = await webhook(bot, "deployment_protection_rule", protection_rule(run_id=1),
                              settle=False)
        assert reply.status == 200, reply.text
        [report] = await until(bot, "the job gets a status report", lambda: answers(github, 1))
        assert report.get("state") is None and "Staging" in report["comment"]
        assert (await press(bot, "alice", "change_staging_deployed", change_id)).status == 200
        view = await modal(bot, "alice", press(bot, "alice", "change_staging_verify",
                                               change_id))
        reply = await bot.submit("alice", view, {"checks": STAGING_CHECKS,
                                                 "notes": "Smoke tests green on staging."})
        assert reply.status == 200 and not reply.text.strip(), reply.text
        final = await until(bot, "the job is approved",
                            lambda: [a for a in answers(github, 1) if a.get("state")])
        assert [a["state"] for a in final] == ["approved"]
        assert f"CHG-{change_id} is cleared by Changebot" in final[0]["comment"]

        # A rejected change's job is rejected.
        other = await propose(bot, f"https://github.com/{OWNER}/{REPO}/pull/3")
        await until(bot, "its check is created", lambda: check(github, OTHER))
        reply = await webhook(bot, "deployment_protection_rule",
                              protection_rule(sha=OTHER, run_id=2), settle=False)
        assert reply.status == 200, reply.text
        await until(bot, "its job gets a status report", lambda: answers(github, 2))
        view = await modal(bot, "bob", press(bot, "bob", "change_reject", other))
        reply = await bot.submit("bob", view, {"reason": "No load test."})
        assert reply.status == 200 and not reply.text.strip(), reply.text
        final = await until(bot, "its job is rejected",
                            lambda: [a for a in answers(github, 2) if a.get("state")])
        assert [a["state"] for a in final] == ["rejected"]
        assert f"CHG-{other} was rejected" in final[0]["comment"]
        await until(bot, "its check fails",
                    lambda: check(github, OTHER).get("conclusion") == "failure")
        assert await bot.stop() == 0, bot.log()
