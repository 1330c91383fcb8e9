"""`POST /github/webhook`: verify GitHub's signature, then hand the event to the core."""

from __future__ import annotations

import json
import logging
import urllib.parse

from aiohttp import web
from sqlalchemy.exc import DataError

from bot.context import Context
from bot.github import events as github_events
from bot.github.client import verify_webhook_signature
from bot.runtime.faults import database_unreachable

log = logging.getLogger(__name__)
PATH = "/github/webhook"


def register_http(web_app: web.Application, ctx: Context) -> None:
    async def webhook(request: web.Request) -> web.Response:
        response = await _answer(ctx, request)
        ctx.metrics.requests.labels(PATH, str(response.status)).inc()
        return response

    web_app.router.add_post(PATH, webhook)


async def _answer(ctx: Context, request: web.Request) -> web.Response:
    secret = ctx.settings.github_webhook_secret
    if not secret:
        return _json(503, "GitHub webhooks are not configured: set GITHUB_WEBHOOK_SECRET to "
                          "the webhook's secret (nothing was done)")
    body = await request.read()
    if not verify_webhook_signature(secret, body, request.headers.get("X-Hub-Signature-256")):
        return _json(401, "invalid or missing X-Hub-Signature-256 (nothing was done)")
    try:
        payload = _payload(body, request.content_type)
    except ValueError as exc:
        return _json(400, f"the body is not a webhook payload: {exc}")
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    try:
        received = await github_events.receive(ctx, event, delivery, payload)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, DataError) as exc:
        # A field of the wrong type or beyond what the database stores: GitHub never sends
        # it; nothing was recorded (the transaction rolled back).
        log.warning("GitHub %s delivery %s is malformed: %r", event, delivery, exc)
        return _json(400, f"the {event[:60]} payload is malformed ({type(exc).__name__}); "
                          "nothing was recorded")
    except Exception as exc:
        log.exception("GitHub %s delivery %s failed", event, delivery)
        ctx.metrics.errors.labels(where="github webhook").inc()
        if database_unreachable(exc):
            return _json(503, "the bot cannot reach its database right now; nothing was "
                              "recorded, so a redelivery will be handled")
        return _json(500, "the bot could not handle this delivery; nothing was recorded, so "
                          "a redelivery will be handled")
    if received.status == 204:
        return web.Response(status=204)
    return _json(received.status, received.message)


def _payload(body: bytes, content_type: str) -> object:
    """GitHub sends JSON, or a form with the JSON in `payload` (content type "form")."""
    text = body.decode("utf-8")
    if content_type == "application/x-www-form-urlencoded":
        text = urllib.parse.parse_qs(text).get("payload", [""])[0]
    return json.loads(text)


def _json(status: int, message: str) -> web.Response:
    key = "ok" if status < 400 else "error"
    return web.json_response({key: message}, status=status)
