"""GitHub tests: the bot served with the real PyGithub client pointed at a fake GitHub that
holds the example pull request. A module needing another GitHub defines its own fixture."""

import pytest

from tests.fake_github import FakeGitHub
from tests.github.gates_harness import app_github, start_app_bot
from tests.github_flows import TOKEN, add_example_pull, start


@pytest.fixture
async def github():
    async with FakeGitHub(token=TOKEN) as fake:
        add_example_pull(fake)
        yield fake


@pytest.fixture
async def bot(db, slack, clock, policy, github):
    harness = await start(db, slack, clock, policy, github)
    yield harness
    await harness.stop()


@pytest.fixture
async def app_fake(clock):
    """The fake GitHub with the App installed (tests.github.gates_harness)."""
    fake = await app_github(clock)
    yield fake
    await fake.stop()


@pytest.fixture
async def app_bot(db, slack, clock, policy, app_fake):
    """The bot served as the GitHub App."""
    harness = await start_app_bot(db, slack, clock, policy, app_fake)
    yield harness
    await harness.stop()
