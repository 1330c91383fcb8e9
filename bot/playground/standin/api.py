"""A fake Slack Web API on aiohttp, for the test suite and the browser playground.

The real `slack_sdk` `AsyncWebClient(base_url=fake.base_url)` talks to it unchanged. It keeps
a workspace in memory, validates Block Kit like Slack, records every call, can be slow, fail
or rate-limit on demand, and tells subscribers about every change.

    async with FakeSlack() as slack:
        slack.add_user("U1", "alice")
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        await client.chat_postMessage(channel="U1", text="hi")
        assert slack.dms("U1")[0]["text"] == "hi"
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.playground.standin import faults
from bot.playground.standin import requests as slack_requests
from bot.playground.standin.calls import (
    Answer,
    Call,
    bearer_token,
    read_args,
    root_of,
)
from bot.playground.standin.entities import StoredFile
from bot.playground.standin.errors import SlackError
from bot.playground.standin.methods import HANDLERS, RequestContext
from bot.playground.standin.responses import ResponseTarget, apply_response
from bot.playground.standin.socket_mode import SocketModeServer
from bot.playground.standin.state import Workspace

BOT_SCOPES = ",".join([
    "chat:write", "chat:write.public", "commands", "im:write", "im:history",
    "channels:history", "groups:history", "users:read", "users:read.email",
    "usergroups:read", "files:write",
])
UPLOAD = "upload"  # the pseudo-method recorded for the bytes posted to an upload URL
RESPONSE_URL = "response_url"  # ... and for what the bot posts to a response_url


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FakeSlack:
    """Slack's Web API for one workspace, served on 127.0.0.1."""

    def __init__(self, *, bot_token: str = "xoxb-test", app_token: str = "xapp-test",
                 clock: Callable[[], datetime] | None = None) -> None:
        self.bot_token = bot_token
        self.socket_mode = SocketModeServer(app_token)
        self.clock = clock or _utc_now
        self.calls: list[Call] = []
        self.base_url: str | None = None  # "http://127.0.0.1:PORT/api/" once started
        self.root_url: str | None = None  # "http://127.0.0.1:PORT"; set it if you mount self.app
        self.workspace = Workspace(clock=self.clock, emit=self._publish)
        self.faults = faults.Faults()
        self._waiters: set[asyncio.Event] = set()
        self._subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        self._response_targets: dict[str, ResponseTarget] = {}
        self._runner: web.AppRunner | None = None
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/api/{method}", self._handle_api)
        self.app.router.add_route("*", "/upload/{file_id}", self._handle_upload)
        self.app.router.add_post("/response/{token}", self._handle_response_url)
        self.app.router.add_get("/socket", self.socket_mode.handle)

    # ---- serving --------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: any free port); returns the base URL for slack_sdk."""
        if self._runner is not None:
            raise RuntimeError("FakeSlack is already started")
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self.root_url = f"http://{host}:{bound_port}"
        self.base_url = f"{self.root_url}/api/"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- seeding the workspace -----------------------------------------------------------

    def add_user(self, id: str, name: str, *, real_name: str | None = None,
                 email: str | None = None, is_bot: bool = False, tz: str = "UTC") -> None:
        self.workspace.add_user(id, name, real_name=real_name, email=email, is_bot=is_bot, tz=tz)

    def add_channel(self, id: str, name: str, *, is_private: bool = False) -> None:
        self.workspace.add_channel(id, name, is_private=is_private)

    def add_usergroup(self, id: str, handle: str, users: list[str]) -> None:
        self.workspace.add_usergroup(id, handle, users)

    # ---- scripted faults -----------------------------------------------------------------

    def fail(self, method: str, status: int = 500, times: int | None = 1) -> None:
        """The next `times` calls of `method` ("*": any) get HTTP `status`."""
        self.faults.add(faults.http_failure(method, status, times))

    def rate_limit(self, method: str, retry_after: int = 1, times: int | None = 1) -> None:
        """The next `times` calls get HTTP 429 with `Retry-After: retry_after`."""
        self.faults.add(faults.rate_limited(method, retry_after, times))

    def error(self, method: str, error: str = "channel_not_found", times: int | None = 1) -> None:
        """The next `times` calls get HTTP 200 `{"ok": false, "error": error}`."""
        self.faults.add(faults.error_answer(method, error, times))

    def delay(self, method: str, seconds: float) -> None:
        """Every answer of `method` ("*": any) comes `seconds` late (0 removes the delay)."""
        self.faults.set_delay(method, seconds)

    def clear_faults(self) -> None:
        self.faults.clear()

    # ---- what happened -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def clear_calls(self) -> None:
        self.calls.clear()

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages of a channel (id, "#name" or a person's id for their DM), oldest
        first, top-level and thread replies, as they are now (after updates). Each has ts,
        thread_ts (None unless it is a reply), text, blocks ([] if none), metadata, user."""
        channel_id = self._channel_id(channel)
        return [_for_test(m) for m in self.workspace.history.get(channel_id, [])]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        for message in self.messages(channel):
            if message["ts"] == ts:
                return message
        known = [(m["ts"], m["text"][:40]) for m in self.messages(channel)]
        raise KeyError(f"no message {ts} in {channel}; it has {known}")

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (chat.postEphemeral and ephemeral response_url answers)."""
        return [copy.deepcopy(e) for e in self.workspace.ephemerals
                if user is None or e["user"] == user]

    def dm_channel(self, user: str) -> str:
        """The id of the bot's DM with `user` (stable: "D" + the user id's tail)."""
        self.workspace.user(user)
        return self.workspace.open_dm(user)[0].id

    def dms(self, user: str) -> list[dict[str, Any]]:
        return self.messages(self.dm_channel(user))

    def view(self, view_id: str) -> dict[str, Any]:
        if view_id not in self.workspace.views:
            raise KeyError(f"no view {view_id}; views: {sorted(self.workspace.views)}")
        return copy.deepcopy(self.workspace.views[view_id].view)

    def type_into(self, view_id: str, values: dict[str, Any]) -> None:
        """The person fills inputs of an open view (values by block_id, as for a submission):
        the view's state holds them, as Slack's does, until it is submitted."""
        view = self.view(view_id)
        state = slack_requests.view_state(view, values)
        self.workspace.type_into(view_id, {b: state[b] for b in values})

    def opened_views(self, user: str | None = None) -> list[dict[str, Any]]:
        """Every modal opened or pushed (oldest first), as it is now."""
        return [copy.deepcopy(s.view) for s in self.workspace.views.values()
                if s.kind == "modal" and (user is None or s.user == user)]

    def view_stack(self, user: str | None) -> list[dict[str, Any]]:
        """The modals open for `user` now, bottom first (None: opened with a foreign trigger)."""
        return [self.view(v) for v in self.workspace.stacks.get(user, [])]

    def close_view(self, view_id: str) -> None:
        """Close a modal as the person would (it and the views pushed above it)."""
        self.workspace.close_view(view_id)

    def home(self, user: str) -> dict[str, Any] | None:
        view_id = self.workspace.homes.get(user)
        return self.view(view_id) if view_id else None

    def uploaded_files(self) -> list[dict[str, Any]]:
        """Files the bot uploaded: id, name, title, length, content (bytes), channels,
        completed (True once files.completeUploadExternal shared it)."""
        return [f.summary() for f in self.workspace.files.values() if f.content is not None]

    def issue_trigger(self, user: str) -> str:
        """A trigger_id tied to `user`: single use, expires after 3 s of the clock. Views
        opened with it are the user's. Any other non-empty trigger_id is accepted too."""
        return self.workspace.issue_trigger(user)

    def response_url(self, *, user: str, channel: str, message_ts: str | None = None) -> str:
        """A response_url for an interaction by `user` in `channel` (of message_ts)."""
        if self.root_url is None:
            raise RuntimeError("start() FakeSlack (or set root_url) before making response URLs")
        token = secrets.token_hex(12)
        self._response_targets[token] = ResponseTarget(user, channel, message_ts)
        return f"{self.root_url}/response/{token}"

    def answer_command(self, *, user: str, channel: str, body: dict[str, Any]) -> None:
        """What Slack does with an app's immediate answer to a slash command: the same as a
        response_url post (ephemeral unless `response_type: in_channel`). SlackError if the
        answer is not a valid message."""
        apply_response(self.workspace, ResponseTarget(user, channel, None), body)

    def responses(self, user: str | None = None) -> list[dict[str, Any]]:
        """The bodies the bot posted to response URLs and that were accepted, oldest first."""
        return [c.args["body"] for c in self.calls_to(RESPONSE_URL)
                if c.ok and (user is None or c.args["user"] == user)]

    # ---- waiting and watching ------------------------------------------------------------

    async def wait_for(self, method: str, *, count: int = 1,
                       where: Callable[[Call], bool] | None = None,
                       timeout: float = 5.0) -> list[Call]:  # noqa: ASYNC109 - test helper API
        """Every recorded call of `method` matching `where`, once there are `count` of them.
        Faulted calls count too (filter with `where=lambda c: c.ok`). AssertionError on
        timeout, with the calls recorded so far."""

        def matching() -> list[Call]:
            return [c for c in self.calls if c.method == method and (where is None or where(c))]

        event = asyncio.Event()
        self._waiters.add(event)
        try:
            async with asyncio.timeout(timeout):
                while len(found := matching()) < count:
                    event.clear()
                    await event.wait()
                return found
        except TimeoutError:
            raise AssertionError(
                f"expected {count} call(s) to {method}"
                + (" matching the condition" if where else "")
                + f" within {timeout}s, got {len(matching())}.\n{self.describe_calls()}"
            ) from None
        finally:
            self._waiters.discard(event)

    async def wait_for_response(self, user: str | None = None, *, count: int = 1,
                                timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The `count`-th accepted response_url body (of `user`), once it has arrived."""
        calls = await self.wait_for(
            RESPONSE_URL, count=count, timeout=timeout,
            where=lambda c: c.ok and (user is None or c.args["user"] == user),
        )
        return calls[count - 1].args["body"]

    def describe_calls(self, limit: int = 40) -> str:
        if not self.calls:
            return "No calls were recorded."
        shown = self.calls[-limit:]
        lines = [f"Recorded calls (last {len(shown)} of {len(self.calls)}):"]
        for index, call in enumerate(shown, len(self.calls) - len(shown) + 1):
            args = json.dumps(call.args, default=str)
            if len(args) > 160:
                args = args[:157] + "..."
            lines.append(f"  {index}. {call.method} -> {call.outcome} {args}")
        return "\n".join(lines)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue of change events: message_posted/updated/deleted, ephemeral_posted,
        view_opened/pushed/updated/closed, home_published, and api_call for every call."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def _publish(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            queue.put_nowait(event)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        for event in self._waiters:
            event.set()
        self._publish({"type": "api_call", "method": call.method, "outcome": call.outcome})

    # ---- HTTP handlers -------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            args = await read_args(request)
        except ValueError:
            invalid = Answer(200, {"ok": False, "error": "invalid_json"})
            return await self._finish(method, {}, invalid)
        token = bearer_token(request) or args.get("token")
        args.pop("token", None)
        answer = self._fault_answer(method) or self._call_method(method, args, token, request)
        answer.headers.setdefault("X-OAuth-Scopes", BOT_SCOPES)
        return await self._finish(method, args, answer)

    def _fault_answer(self, method: str) -> Answer | None:
        fault = self.faults.take(method)
        if fault is None:
            return None
        return Answer(fault.status, dict(fault.body), dict(fault.headers), fault.label)

    def _call_method(self, method: str, args: dict[str, Any], token: Any,
                     request: web.Request) -> Answer:
        if not token:
            return Answer(200, {"ok": False, "error": "not_authed"})
        if method == "apps.connections.open":
            return Answer(200, self.socket_mode.connections_open(token, root_of(request)))
        if token != self.bot_token:
            return Answer(200, {"ok": False, "error": "invalid_auth"})
        handler = HANDLERS.get(method)
        if handler is None:
            return Answer(200, {"ok": False, "error": "unknown_method"})
        try:
            result = handler(self.workspace, args, RequestContext(root_of(request)))
        except SlackError as exc:
            return Answer(200, exc.to_response())
        return Answer(200, {"ok": True, **result})

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """The upload URL of files.getUploadURLExternal: keeps the posted bytes."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        args = {"file_id": file_id, "length": len(data)}
        answer = self._fault_answer(UPLOAD) or self._store_upload(file_id, data)
        return await self._finish(UPLOAD, args, answer)

    def _store_upload(self, file_id: str, data: bytes) -> Answer:
        stored: StoredFile | None = self.workspace.files.get(file_id)
        if stored is None:
            return Answer(404, "file_not_found")
        stored.content = data
        return Answer(200, f"OK - {len(data)}")

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        target = self._response_targets.get(request.match_info["token"])
        try:
            body = await request.json()
        except ValueError:
            body = None
        args = {"user": target and target.user, "channel": target and target.channel,
                "message_ts": target and target.message_ts, "body": body}
        answer = self._fault_answer(RESPONSE_URL)
        if answer is None:
            answer = self._respond(target, body)
        return await self._finish(RESPONSE_URL, args, answer)

    def _respond(self, target: ResponseTarget | None, body: Any) -> Answer:
        """What Slack does with a response_url post: reply, replace or delete."""
        if target is None:
            return Answer(404, "no_service")
        if not isinstance(body, dict):
            return Answer(400, "invalid_payload")
        try:
            apply_response(self.workspace, target, body)
        except SlackError as exc:
            status = 404 if exc.error == "message_not_found" else 400
            return Answer(status, exc.error)
        return Answer(200, "ok")

    async def _finish(self, method: str, args: dict[str, Any], answer: Answer
                      ) -> web.StreamResponse:
        self._record(Call(method, args, self.clock(), answer.fault, answer.status,
                          answer.summary()))
        seconds = self.faults.delay_for(method)
        if seconds:
            await asyncio.sleep(seconds)
        return answer.to_http()

    def _channel_id(self, channel: str) -> str:
        try:
            return self.workspace.channel(channel, allow_user=True).id
        except SlackError:
            raise KeyError(f"no channel {channel!r}") from None


def _for_test(message: dict[str, Any]) -> dict[str, Any]:
    """A message for a test: every key present; thread_ts only on replies.

    Slack sets a parent's thread_ts to its own ts once it has replies (the Web API answers
    keep that; see also reply_count), but "top-level means thread_ts is None" reads better
    in a test.
    """
    shown = copy.deepcopy(message)
    for key, default in (("thread_ts", None), ("blocks", []), ("metadata", None)):
        shown.setdefault(key, default)
    if shown["thread_ts"] == shown["ts"]:
        shown["thread_ts"] = None
    return shown
