"""Thin adapters from outside events (Slack, GitHub) to calls on the core."""

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.context import Context
from handlers import (
    commands,
    deploy,
    emergency,
    fallback,
    freeze,
    github,
    history,
    home,
    more,
    pull_requests,
    review,
    security,
    security_dismissal,
    snooze,
)
from handlers.common import answer_failure

__all__ = ["answer_failure", "register", "register_http"]


# The Slack listeners, in the order of the process; the fallback last: what no listener
# before it takes.
SLACK_LISTENERS = (commands, review, security, security_dismissal, deploy, emergency, home,
                   pull_requests, history, more, freeze, snooze, fallback)


def register(app: AsyncApp, ctx: Context) -> None:
    """Attach every Slack listener to the Bolt app."""
    for listeners in SLACK_LISTENERS:
        listeners.register(app, ctx)


def register_http(web_app: web.Application, ctx: Context) -> None:
    """Attach the non-Slack HTTP endpoints (GitHub webhooks) beside /slack/events."""
    github.register_http(web_app, ctx)
