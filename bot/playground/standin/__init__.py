"""A stand-in for Slack: its Web API (`FakeSlack`) for tests and the browser playground."""

from bot.playground.standin.api import Call, FakeSlack

__all__ = ["Call", "FakeSlack"]
