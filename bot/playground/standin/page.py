"""The playground page: a browser window onto the stand-in Slack, and the JSON it uses.

    GET  /                      the page (static/index.html, app.js, style.css; no build step)
    GET  /playground/state      what the acting person sees: people, channels, messages, …
    GET  /playground/views      their open modal and their App Home tab
    GET  /playground/events     live changes (server-sent events, from FakeSlack.subscribe)
    POST /playground/command    type `/change …` in a channel       {user, channel, text}
    POST /playground/message    say something in a channel          {user, channel, text}
    POST /playground/click      a button or menu of a message/view  {user, action_id, …}
    POST /playground/submit     submit a modal                      {user, view_id, values}
    POST /playground/close      close a modal                       {user, view_id, all}
    POST /playground/home       open the App Home tab               {user}
    POST /playground/clock      move the bot's clock, send what is due  {minutes}
    GET  /playground/files/{id}/{name}  download a file the bot shared
    GET  /favicon.ico           the page's icon

Every Block Kit surface is rendered here, in Python (`render.py`); the script only places it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.playground.standin import render
from bot.playground.standin.api import FakeSlack
from bot.playground.standin.entities import BOT_USER_ID
from bot.playground.standin.errors import SlackError
from bot.playground.standin.files import FILES_ROUTE, shared_files
from bot.playground.standin.interactions import AppConnection, Outcome
from bot.playground.standin.mrkdwn import Names

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
KEEP_ALIVE = 15.0  # seconds between comments on an idle event stream
MAX_ADVANCE = timedelta(days=7)

# Moves the bot's clock by the delta, sends the reminders due meanwhile; returns how many.
Advance = Callable[[timedelta], Awaitable[int]]


class BadRequest(web.HTTPBadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(text=json.dumps({"ok": False, "error": message}),
                         content_type="application/json")


def clock_label(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a %d %b %Y, %H:%M UTC")


def ts_label(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%a %d %b, %H:%M")


class Page:
    def __init__(self, slack: FakeSlack, app: AppConnection, *,
                 advance: Advance | None = None, roles: dict[str, str] | None = None) -> None:
        self.slack = slack
        self.app = app
        self.advance = advance
        self.roles = roles or {}
        self._streams: set[asyncio.Queue] = set()

    def attach(self, web_app: web.Application) -> None:
        router = web_app.router
        router.add_get("/", self.index)
        router.add_get("/favicon.ico", self.favicon)
        router.add_get(FILES_ROUTE + "{file_id}/{name}", self.file)
        router.add_static("/static/", STATIC)
        router.add_get("/playground/state", self.state)
        router.add_get("/playground/views", self.views)
        router.add_get("/playground/events", self.events)
        router.add_post("/playground/command", self.command)
        router.add_post("/playground/message", self.message)
        router.add_post("/playground/click", self.click)
        router.add_post("/playground/submit", self.submit)
        router.add_post("/playground/close", self.close)
        router.add_post("/playground/home", self.home)
        router.add_post("/playground/clock", self.clock)
        web_app.on_shutdown.append(self._end_streams)

    # ---- what a person sees --------------------------------------------------------------

    def names(self) -> Names:
        ws = self.slack.workspace
        return Names(
            users={u.id: u.name for u in ws.users.values()},
            channels={c.id: c.name for c in ws.channels.values() if not c.is_im},
            groups={g.id: g.handle for g in ws.usergroups.values()},
            now=self.slack.clock,
        )

    def people(self) -> list[tuple[str, str]]:
        return [(u.id, f"{u.real_name} (@{u.name})")
                for u in self.slack.workspace.users.values() if not u.is_bot]

    def item(self, channel: str, message: dict[str, Any], names: Names) -> dict[str, Any]:
        """A message as the page shows it: who, when, where in a thread, and its HTML."""
        ephemeral = bool(message.get("is_ephemeral"))  # its `user` is who may see it
        sender = BOT_USER_ID if ephemeral else message.get("user", "")
        author = self.slack.workspace.users.get(sender)
        thread_ts = message.get("thread_ts")
        return {
            "channel": channel,
            "ts": message["ts"],
            "thread_ts": thread_ts if thread_ts and thread_ts != message["ts"] else None,
            "reply_count": message.get("reply_count", 0),
            "author": author.real_name if author else sender or "?",
            "is_app": sender == BOT_USER_ID,
            "time": ts_label(message["ts"]),
            "edited": bool(message.get("edited")),
            "for": message["user"] if ephemeral else None,
            "html": render.message(message, names)
            + shared_files(message, self.slack.workspace.files),
        }

    def modal(self, user: str, names: Names) -> dict[str, str] | None:
        stack = self.slack.workspace.stacks.get(user) or []
        if not stack:
            return None
        view = self.slack.view(stack[-1])
        return {"id": view["id"], "html": render.view(view, names, self.people())}

    def home_tab(self, user: str, names: Names) -> str | None:
        view = self.slack.home(user)
        return render.view(view, names, self.people()) if view else None

    async def index(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def favicon(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "favicon.svg",
                                headers={"Content-Type": "image/svg+xml"})

    async def file(self, request: web.Request) -> web.Response:
        stored = self.slack.workspace.files.get(request.match_info["file_id"])
        if stored is None or stored.content is None:
            raise web.HTTPNotFound(text="no such file: it was never uploaded")
        disposition = f"attachment; filename*=UTF-8''{quote(stored.name)}"
        kind = mimetypes.guess_type(stored.name)[0] or "application/octet-stream"
        return web.Response(body=stored.content, content_type=kind,
                            headers={"Content-Disposition": disposition})

    async def state(self, request: web.Request) -> web.Response:
        user = self._person(request.query.get("user"))
        ws = self.slack.workspace
        names = self.names()
        dms = {uid: self.slack.dm_channel(uid) for uid, _ in self.people()}
        visible = [c for c in ws.channels.values()
                   if not c.is_im and (not c.is_mpim or user in c.members)]
        messages = [self.item(c, m, names) for c in [*(v.id for v in visible), dms[user]]
                    for m in ws.history.get(c, [])]
        messages += [self.item(e["channel"], e, names) for e in ws.ephemerals
                     if e["user"] == user]
        return web.json_response({
            "me": user,
            "clock": clock_label(self.slack.clock()),
            "can_advance": self.advance is not None,
            "people": [{"id": u.id, "name": u.name, "real_name": u.real_name,
                        "role": self.roles.get(u.id, "")}
                       for u in ws.users.values() if not u.is_bot],
            "channels": [{"id": c.id, "name": c.name} for c in visible],
            "dms": dms,
            "messages": messages,
            "modal": self.modal(user, names),
            "home": self.home_tab(user, names),
        })

    async def views(self, request: web.Request) -> web.Response:
        user = self._person(request.query.get("user"))
        names = self.names()
        return web.json_response({"modal": self.modal(user, names),
                                  "home": self.home_tab(user, names)})

    # ---- live changes --------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue = self.slack.subscribe()
        self._streams.add(queue)
        try:
            await response.write(b": connected\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEP_ALIVE)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if event is None:  # the server is stopping
                    break
                for shown in self.page_events(event):
                    await response.write(f"data: {json.dumps(shown)}\n\n".encode())
        except ConnectionResetError:
            pass  # the page went away
        finally:
            self.slack.unsubscribe(queue)
            self._streams.discard(queue)
        return response

    def page_events(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """A FakeSlack change event as what the page needs to redraw."""
        kind = event["type"]
        if kind in ("message_posted", "message_updated", "ephemeral_posted",
                    "ephemeral_replaced"):
            names = self.names()
            shown = [{"type": "message", "new": kind.endswith("posted"),
                      "item": self.item(event["channel"], event["message"], names)}]
            parent_ts = shown[0]["item"]["thread_ts"]
            parent = parent_ts and self.slack.workspace.find_message(event["channel"], parent_ts)
            if parent and not event["message"].get("is_ephemeral"):  # its reply count changed
                shown.append({"type": "message", "new": False,
                              "item": self.item(event["channel"], parent, names)})
            return shown
        if kind in ("message_deleted", "ephemeral_deleted"):
            return [{"type": "deleted", "channel": event["channel"], "ts": event["ts"]}]
        if kind.startswith("view_") or kind == "home_published":
            return [{"type": "views", "user": event.get("user")}]
        if kind == "clock":
            return [event]
        return []  # api_call: not shown

    def _broadcast(self, event: dict[str, Any]) -> None:
        for queue in self._streams:
            queue.put_nowait(event)

    async def _end_streams(self, _app: web.Application) -> None:
        for queue in self._streams:
            queue.put_nowait(None)

    # ---- what a person does --------------------------------------------------------------

    def _person(self, user: Any) -> str:
        people = {uid for uid, _ in self.people()}
        if user not in people:
            raise BadRequest(f"no such person {user!r}: one of {sorted(people)}")
        return str(user)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("send a JSON object") from None
        if not isinstance(body, dict):
            raise BadRequest("send a JSON object")
        body["user"] = self._person(body.get("user"))
        return body

    def _channel(self, body: dict[str, Any]) -> str:
        try:
            return self.slack.workspace.channel(body.get("channel")).id
        except SlackError:
            raise BadRequest(f"no channel {body.get('channel')!r}") from None

    @staticmethod
    def _answer(outcome: Outcome) -> web.Response:
        return web.json_response(outcome.to_json())

    async def command(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        text = str(body.get("text") or "").strip()
        return self._answer(await self.app.command(body["user"], self._channel(body), text))

    async def message(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        text = str(body.get("text") or "").strip()
        if not text:
            raise BadRequest("say something")
        self.slack.workspace.post_message(self._channel(body), {"text": text},
                                          user=body["user"], thread_ts=body.get("thread_ts"))
        return self._answer(Outcome())

    async def click(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if not body.get("action_id"):
            raise BadRequest("which action_id?")
        if body.get("view_id") and body["view_id"] not in self.slack.workspace.views:
            raise BadRequest("no such view")
        outcome = await self.app.click(
            body["user"], str(body["action_id"]), block_id=body.get("block_id") or None,
            channel=body.get("channel"), ts=body.get("ts"), view_id=body.get("view_id"),
            selected=body.get("selected"),
        )
        return self._answer(outcome)

    async def submit(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise BadRequest("values must be an object keyed by block_id")
        return self._answer(await self.app.submit(body["user"], str(body.get("view_id")), values))

    async def close(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        outcome = await self.app.close_view(body["user"], str(body.get("view_id")),
                                            all_views=bool(body.get("all")))
        return self._answer(outcome)

    async def home(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        return self._answer(await self.app.open_home(body["user"]))

    async def clock(self, request: web.Request) -> web.Response:
        if self.advance is None:
            raise web.HTTPNotFound(text="this stand-in has no clock to move")
        try:
            minutes = int((await request.json()).get("minutes"))
        except (ValueError, TypeError, AttributeError):
            raise BadRequest("send {\"minutes\": 30}") from None
        delta = timedelta(minutes=minutes)
        if not timedelta(0) < delta <= MAX_ADVANCE:
            raise BadRequest("move the clock forward, by at most 7 days")
        sent = await self.advance(delta)
        event = {"type": "clock", "clock": clock_label(self.slack.clock()), "sent": sent}
        self._broadcast(event)
        return web.json_response({"ok": True, **event})
