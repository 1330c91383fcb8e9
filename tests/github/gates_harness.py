"""The bot as a GitHub App, against a fake GitHub that checks the App's JWT, with the example
pull request (head BEFORE, CI green) in an installation; and the deployment protection rule
webhook built from the octokit schema (tests/fixtures/changebot, see its README)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.fake_github import FakeGitHub
from tests.github.app_keys import APP_ID, INSTALLATION, key_pair
from tests.github_flows import BEFORE, OWNER, REPO, TOKEN, add_example_pull, start

FIXTURE = Path(__file__).parents[1] / "fixtures" / "changebot"
RUN_ID = 1658821493  # the run of the fixture's deployment_callback_url


@cache
def _protection_rule() -> dict[str, Any]:
    with open(FIXTURE / "deployment_protection_rule.requested.json", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
        return data


def protection_rule(*, sha: str = BEFORE, environment: str = "production",
                    run_id: int = RUN_ID, repo: str | None = None,
                    installation: int | None = INSTALLATION) -> dict[str, Any]:
    payload = copy.deepcopy(_protection_rule())
    payload["environment"] = payload["deployment"]["environment"] = environment
    payload["deployment"]["sha"] = sha
    full_name = repo or f"{OWNER}/{REPO}"
    payload["repository"]["full_name"] = full_name
    payload["deployment_callback_url"] = (
        f"https://api.github.com/repos/{full_name}/actions/runs/{run_id}"
        "/deployment_protection_rule")
    if installation is None:
        payload.pop("installation")
    else:
        payload["installation"]["id"] = installation
    return payload


async def app_github(clock) -> FakeGitHub:
    fake = FakeGitHub(token=TOKEN)
    await fake.start()
    fake.enable_app(APP_ID, key_pair()[1])
    fake.add_installation(INSTALLATION, (OWNER, REPO))
    fake.now = clock.now
    add_example_pull(fake)
    fake.add_check_run(OWNER, REPO, BEFORE, "build")
    return fake


async def start_app_bot(db, slack, clock, policy, fake: FakeGitHub):
    return await start(db, slack, clock, policy, fake, github_token=None,
                       github_app_id=str(APP_ID), github_app_private_key=key_pair()[0])


def answers(fake: FakeGitHub, run_id: int = RUN_ID) -> list[dict[str, Any]]:
    return fake.protection_answers_for(OWNER, REPO, run_id)
