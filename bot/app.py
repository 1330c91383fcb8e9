"""Assembles the bot: Bolt app, aiohttp server, and how each mode starts and stops."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.logger.messages import warning_token_skipped
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

import handlers
from bot.context import Context
from bot.evidence.verification import audit_key
from bot.evidence.witness import keep_scheduled
from bot.flows.kinds import ALONE, IN_ORDER, KINDS
from bot.github.app_credentials import AppCredentials
from bot.insights import gauges
from bot.runtime import collector
from bot.runtime.background import Background
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.metrics import Metrics
from bot.runtime.sweeper import Sweeper
from bot.settings import Config, ConfigError, Settings, github_app_key
from bot.slack import payloads, verify
from bot.slack.client import make_slack_client
from storage.db import Database, answer_due, up_to_date

log = logging.getLogger(__name__)


def github_app_credentials(settings: Settings) -> AppCredentials | None:
    """GitHub App mode when the App's id and key are set (load_config checked them)."""
    if not settings.github_app_id:
        return None
    key = github_app_key(settings)
    return AppCredentials(settings.github_app_id.strip(), key) if key else None


def database(settings: Settings, **options: Any) -> Database:
    """The bot's database, with the timeouts of its settings."""
    return Database(settings.database_url, audit_key=audit_key(settings),
                    connect_timeout=settings.database_connect_timeout,
                    command_timeout=settings.database_command_timeout,
                    answer_timeout=settings.database_answer_timeout, **options)


def create_context(
    config: Config, *, clock: Clock | None = None, db: Database | None = None
) -> Context:
    settings = config.settings
    metrics = Metrics()
    clock = clock or SystemClock()
    github = None
    app = github_app_credentials(settings)
    if settings.github_token or app is not None:
        from bot.github.client import GitHubClient

        def count_call(operation: str, outcome: str) -> None:
            metrics.github_calls.labels(operation, outcome).inc()

        github = GitHubClient(settings.github_token, settings.github_api_url, app=app,
                              timeout=settings.github_timeout, clock=clock, on_call=count_call)
    ctx = Context(
        settings=settings,
        policy=config.policy,
        db=db or database(settings, now=clock.now),
        clock=clock,
        slack=make_slack_client(settings.slack_bot_token or "", settings.slack_api_url, metrics),
        metrics=metrics,
        background=Background(
            on_error=lambda where: metrics.errors.labels(where=where).inc(),
            quiet=settings.changebot_answer_quiet_seconds,
        ),
        github=github,
    )
    ctx.sweeper = Sweeper(ctx, KINDS, alone=ALONE, in_order=IN_ORDER,
                          lease=timedelta(seconds=settings.changebot_claim_lease_seconds))
    return ctx


async def identify(ctx: Context) -> dict:
    """Who the bot is in Slack (auth.test), asked once at start-up rather than per request."""
    if "auth" not in ctx.cache:
        try:
            ctx.cache["auth"] = (await ctx.slack.auth_test()).data
        except SlackApiError as exc:
            raise ConfigError([
                f"SLACK_BOT_TOKEN: Slack refused it ({exc.response.get('error')}): copy the "
                "Bot User OAuth Token (xoxb-...) from OAuth & Permissions"
            ]) from None
    return ctx.cache["auth"]


class _ExpectedTokenWarning(logging.Filter):
    """Bolt warns that the client's token is ignored when `authorize` is given; that is the
    point of our `authorize` (see `identify`), so the warning only misleads operators."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_token_skipped()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_ExpectedTokenWarning())


class APersonWaits(AsyncMiddleware):
    """Everything a Slack request sets off (its answer, the work after the ack) gets the
    database in time to say it cannot, or not at all (storage.db.answer_due). A class: Bolt
    works out a function middleware's arguments again at every request."""

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        answer_due()
        return await next()


def create_bolt_app(ctx: Context) -> AsyncApp:
    async def authorize(**_kwargs) -> AuthorizeResult:
        auth = await identify(ctx)
        return AuthorizeResult(
            enterprise_id=auth.get("enterprise_id"),
            team_id=auth.get("team_id"),
            bot_token=ctx.slack.token,
            bot_id=auth.get("bot_id"),
            bot_user_id=auth.get("user_id"),
        )

    app = AsyncApp(
        name="changebot",  # else Bolt reads the call stack for one (slow with many modules)
        authorize=authorize,
        client=ctx.slack,
        signing_secret=ctx.settings.slack_signing_secret or "",
        # answer_slack checks every HTTP request's signature before Bolt sees it; Socket
        # Mode's come over the authenticated WebSocket.
        request_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    app.middleware(APersonWaits())

    @app.error
    async def on_error(error: Exception, body: dict,
                       response: BoltResponse | None) -> BoltResponse | None:
        ctx.metrics.errors.labels(where="listener").inc()
        log.error("listener failed for %s", body.get("type"), exc_info=error)
        if response is None:  # acknowledged already: the work after the ack explains itself
            return None
        return handlers.answer_failure(ctx, body, error)

    handlers.register(app, ctx)
    return app


def create_web_app(ctx: Context, bolt: AsyncApp) -> web.Application:
    web_app = web.Application()

    async def slack_events(request: web.Request) -> web.Response:
        with ctx.background.answering():  # work after the acks waits until they are sent
            response = await answer_slack(ctx, bolt, request)
            await response.prepare(request)
            await response.write_eof()
        ctx.metrics.requests.labels("/slack/events", str(response.status)).inc()
        return response

    async def healthz(_request: web.Request) -> web.Response:
        ok = await ctx.db.ping()
        ctx.metrics.requests.labels("/healthz", "200" if ok else "503").inc()
        if ok:
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "database unreachable"}, status=503)

    # Changes, deployments, overdue work: read from the database at scrape.
    change_gauges = gauges.install(ctx)

    async def metrics(_request: web.Request) -> web.Response:
        await change_gauges.refresh()
        return web.Response(body=ctx.metrics.render(), content_type="text/plain")

    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    handlers.register_http(web_app, ctx)

    async def finish_work(_app: web.Application) -> None:
        await close_context(ctx)

    web_app.on_cleanup.append(finish_work)
    return web_app


async def answer_slack(ctx: Context, bolt: AsyncApp, request: web.Request) -> web.Response:
    """Verify, then check the shape, then let Bolt route it: Bolt never parses a body that
    is unsigned (401) or not a Slack request (400)."""
    raw = await request.read()
    secret = ctx.settings.slack_signing_secret or ""
    if not verify.signed_by_slack(secret, raw, request.headers, now=time.time()):
        return web.json_response(
            {"error": "invalid, stale or missing Slack signature (nothing was done)"}, status=401
        )
    try:
        text = verify.body_text(raw, request.charset)
        body = payloads.envelope(text, request.content_type)
    except ValueError as exc:
        return web.json_response(
            {"error": f"not a Slack request: {payloads.clip(str(exc), 300)} (nothing was done)"},
            status=400,
        )
    try:
        # Bolt would parse the body again (and read a command whose text says "payload" as
        # an empty body): it gets ours.
        bolt_request = AsyncBoltRequest(body="", query=request.query_string,
                                        headers=dict(request.headers))
        bolt_request.body = body
        bolt_request.context = build_async_context(AsyncBoltContext({}), body)
    except (TypeError, AttributeError, KeyError, IndexError, ValueError):
        # A field Bolt reads for routing (ids, channel, user) is of a shape Slack never sends.
        return web.json_response(
            {"error": "not a Slack request: ids of the wrong shape (nothing was done)"},
            status=400,
        )
    return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))


async def close_context(ctx: Context) -> None:
    """Graceful stop: no new sweeps, finish in-flight work, then close connections."""
    ctx.sweeper.stop(finishing=True)
    await ctx.background.drain()
    ctx.sweeper.stop()
    await ctx.sweeper.release_claims()  # what a sweep cancelled at the grace's end held
    if ctx.github is not None:
        await ctx.github.close()
    await ctx.db.dispose()


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(config: Config, port: int, host: str = "0.0.0.0") -> None:
    ctx = create_context(config)
    await up_to_date(ctx.db)
    await identify(ctx)
    web_app = create_web_app(ctx, create_bolt_app(ctx))
    runner = web.AppRunner(web_app, shutdown_timeout=30)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    await keep_scheduled(ctx)
    ctx.sweeper.start()
    log.info("Changebot listening on http://%s:%s", host, port)
    print(f"Changebot listening on http://{host}:{port} (Slack requests at /slack/events)")
    try:
        async with collector.between_answers(ctx.background):
            await _wait_for_stop_signal()
        log.info("stopping: finishing in-flight work")
    finally:
        await runner.cleanup()


async def connect_socket_mode(ctx: Context):
    """Connect the Bolt app to Slack over Socket Mode; returns the handler to close."""
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    token = ctx.settings.slack_app_token
    try:  # slack_sdk would retry a refused token forever: check it once, clearly
        await ctx.slack.apps_connections_open(app_token=token or "")
    except SlackApiError as exc:
        raise ConfigError([
            f"SLACK_APP_TOKEN: Slack refused it ({exc.response.get('error')}): create an "
            "app-level token (xapp-...) with connections:write under Basic Information"
        ]) from None
    handler = AsyncSocketModeHandler(create_bolt_app(ctx), token)
    try:
        await handler.connect_async()
    except BaseException:
        await handler.close_async()
        raise
    return handler


async def socket(config: Config) -> None:
    ctx = create_context(config)
    await up_to_date(ctx.db)
    await identify(ctx)
    handler = await connect_socket_mode(ctx)
    await keep_scheduled(ctx)
    ctx.sweeper.start()
    print("Changebot connected to Slack over Socket Mode")
    try:
        async with collector.between_answers(ctx.background):
            await _wait_for_stop_signal()
    finally:
        await handler.close_async()
        await close_context(ctx)
