"""Linking a GitHub login the way people do it: `/change github <login>` in Slack, then the
one-time code posted in a pull-request comment by that login (an `issue_comment` webhook)."""

from __future__ import annotations

import re
from typing import Any

from tests.github_flows import example, webhook
from tests.harness import BotHarness, Reply

CODE = re.compile(r"changebot verify (CB-[A-Z0-9]{6})")


def pr_comment(login: str, body: str) -> dict[str, Any]:
    """An `issue_comment` `created` on the example pull request. No upstream example exists
    in our fixtures: the issue, repository and users come from the real pull_request example;
    the comment has the fields GitHub documents for the event that the bot reads."""
    pull = example("pull_request/opened")
    sender = dict(pull["sender"], login=login)
    issue = {key: pull["pull_request"][key] for key in (
        "url", "html_url", "id", "node_id", "number", "title", "user", "state", "labels",
        "created_at", "updated_at", "body")}
    issue["pull_request"] = {"url": pull["pull_request"]["url"],
                             "html_url": pull["pull_request"]["html_url"]}
    return {
        "action": "created", "issue": issue,
        "comment": {"id": 1, "body": body, "user": sender,
                    "html_url": f"{issue['html_url']}#issuecomment-1",
                    "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:00:00Z"},
        "repository": pull["repository"], "sender": sender,
        "installation": pull["installation"],
    }


def code_of(bot: BotHarness, user_id: str) -> str:
    text = bot.slack.responses(user_id)[-1]["text"]
    found = CODE.search(text)
    assert found, text
    return found.group(1)


async def prove_login(bot: BotHarness, user: str, user_id: str, login: str) -> Reply:
    """Claim `login` in Slack as `user`, then post the code on GitHub as `login`."""
    await bot.command(user, f"github {login}")
    await bot.settle()
    reply = await webhook(bot, "issue_comment",
                          pr_comment(login, f"changebot verify {code_of(bot, user_id)}"))
    await bot.sweep()
    return reply
