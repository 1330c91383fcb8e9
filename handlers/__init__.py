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


def register(app: AsyncApp, ctx: Context) -> None:
    """Attach every Slack listener to the Bolt app."""
    commands.register(app, ctx)
    review.register(app, ctx)
    security.register(app, ctx)
    security_dismissal.register(app, ctx)
    deploy.register(app, ctx)
    emergency.register(app, ctx)
    home.register(app, ctx)
    pull_requests.register(app, ctx)
    history.register(app, ctx)
    more.register(app, ctx)
    freeze.register(app, ctx)
    snooze.register(app, ctx)
    fallback.register(app, ctx)  # last: what no listener above takes


def register_http(web_app: web.Application, ctx: Context) -> None:
    """Attach the non-Slack HTTP endpoints (GitHub webhooks) beside /slack/events."""
    github.register_http(web_app, ctx)
