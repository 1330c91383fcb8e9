"""A stand-in for Slack: its Web API (`FakeSlack`) for tests and the browser playground."""

from bot.playground.standin.api import FakeSlack
from bot.playground.standin.calls import Call

__all__ = ["Call", "FakeSlack"]
