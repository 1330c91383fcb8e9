"""What Slack does when a person acts: it sends the app a signed request at its request URL,
then does what the app answered (post the command's answer, show a modal's field errors,
update, push or close the modal).

The playground page calls these for the person it acts as. Each returns an Outcome the page
can show: done, an error in Slack's words, or the per-field errors of a modal.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.playground.standin import requests as slack_requests
from bot.playground.standin.api import FakeSlack
from bot.playground.standin.entities import BOT_USER_ID
from bot.playground.standin.errors import SlackError
from bot.playground.standin.methods import checked_view

COMMANDS = ("/change",)  # the slash commands of manifest.json
SLACK_TIMEOUT = 3.0  # Slack gives up on an app that has not answered within 3 seconds
FORM = "application/x-www-form-urlencoded"
TROUBLE = "We had some trouble connecting. Try again?"  # what Slack shows in a modal


@dataclass
class Outcome:
    ok: bool = True
    error: str | None = None
    errors: dict[str, str] = field(default_factory=dict)  # block_id -> message

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error, "errors": self.errors}


def failed(error: str) -> Outcome:
    return Outcome(ok=False, error=error)


@dataclass
class Reply:
    status: int | None  # None: no answer (connection refused, timed out)
    text: str = ""
    problem: str = ""

    def json(self) -> dict[str, Any]:
        """The answer as JSON; a plain-text answer is a message's text, as Slack reads it."""
        if not self.text.strip():
            return {}
        try:
            body = json.loads(self.text)
        except ValueError:
            return {"text": self.text}
        return body if isinstance(body, dict) else {"text": self.text}


class AppConnection:
    """Slack's connection to one app: its request URL and its signing secret."""

    def __init__(self, slack: FakeSlack, request_url: str, signing_secret: str, *,
                 timeout: float = SLACK_TIMEOUT) -> None:
        self.slack = slack
        self.request_url = request_url
        self.signing_secret = signing_secret
        self.timeout = timeout
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def _send(self, body: str, content_type: str) -> Reply:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        headers = {"Content-Type": content_type,
                   **slack_requests.sign(self.signing_secret, body)}
        try:
            async with self._http.post(
                self.request_url, data=body.encode(), headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                return Reply(response.status, await response.text())
        except TimeoutError:
            return Reply(None, problem="operation_timeout")
        except aiohttp.ClientError as exc:
            return Reply(None, problem=f"dispatch_failed ({exc.__class__.__name__})")

    def _name(self, user: str) -> str:
        return self.slack.workspace.user(user).name

    # ---- slash commands ------------------------------------------------------------------

    async def command(self, user: str, channel: str, typed: str) -> Outcome:
        """`/change new` typed by `user` in `channel`."""
        name, _, text = typed.strip().partition(" ")
        if name not in COMMANDS:
            return failed(f"{name} is not a valid command. The app has: {', '.join(COMMANDS)}.")
        ws = self.slack.workspace
        where = ws.channel(channel)
        body = slack_requests.slash_command_body(
            user=user, user_name=self._name(user), text=text.strip(), channel=where.id,
            channel_name="directmessage" if where.is_im else where.name, command=name,
            response_url=self.slack.response_url(user=user, channel=where.id),
            trigger_id=self.slack.issue_trigger(user),
        )
        reply = await self._send(body, FORM)
        if reply.status != 200:
            return failed(f"{name} failed with the error \"{reply.problem or 'dispatch_failed'}\""
                          + (f" (HTTP {reply.status})" if reply.status else ""))
        answer = reply.json()
        if answer:
            try:
                self.slack.answer_command(user=user, channel=where.id, body=answer)
            except SlackError as exc:
                return failed(f"Slack refused the app's answer: {exc.error}")
        return Outcome()

    # ---- buttons and menus ---------------------------------------------------------------

    async def click(self, user: str, action_id: str, *, block_id: str | None = None,
                    channel: str | None = None, ts: str | None = None,
                    view_id: str | None = None, selected: Any = None) -> Outcome:
        """A click on a button (or a choice in a menu) of a message or of a view."""
        message = view = None
        response_url = None
        if view_id:
            view = self.slack.view(view_id)
            typed_in = _input_block(view, action_id, block_id)
            if typed_in is not None and selected is not None:
                # A choice in an input that dispatches it: the view holds it from now on.
                self.slack.type_into(view_id, {typed_in: selected})
                view = self.slack.view(view_id)
        else:
            if not (channel and ts):
                return failed("a click needs a message (channel and ts) or a view")
            message = self._find_message(user, channel, ts)
            if message is None:
                return failed("that message is gone")
            response_url = self.slack.response_url(user=user, channel=channel, message_ts=ts)
        try:
            payload = slack_requests.block_actions_payload(
                user=user, user_name=self._name(user), action_id=action_id,
                trigger_id=self.slack.issue_trigger(user), message=message, channel=channel,
                view=view, response_url=response_url, selected=selected, block_id=block_id,
            )
        except LookupError as exc:
            return failed(str(exc))
        reply = await self._send(slack_requests.interactive_body(payload), FORM)
        if reply.status != 200:
            return failed(f"The app did not take the click ({reply.problem or reply.status}).")
        return Outcome()

    def _find_message(self, user: str, channel: str, ts: str) -> dict | None:
        ws = self.slack.workspace
        found = ws.find_message(channel, ts)
        if found is None:
            found = next((e for e in ws.ephemerals
                          if e["ts"] == ts and e["user"] == user), None)
        return copy.deepcopy(found) if found else None

    # ---- modals --------------------------------------------------------------------------

    async def submit(self, user: str, view_id: str, values: dict[str, Any]) -> Outcome:
        """Submit the modal `view_id` with `values` keyed by block_id."""
        ws = self.slack.workspace
        if view_id not in ws.stacks.get(user, []):
            return failed("This form is closed.")
        stored = ws.views[view_id]
        try:
            payload = slack_requests.view_submission_payload(
                user=user, user_name=self._name(user), view=copy.deepcopy(stored.view),
                values=values, trigger_id=self.slack.issue_trigger(user),
            )
        except LookupError as exc:
            return failed(str(exc))
        stored.view["state"] = payload["view"]["state"]  # Slack keeps what was typed
        reply = await self._send(slack_requests.interactive_body(payload), FORM)
        if reply.status != 200:
            return failed(TROUBLE)
        return self._after_submission(user, view_id, reply.json())

    def _after_submission(self, user: str, view_id: str, answer: dict[str, Any]) -> Outcome:
        ws = self.slack.workspace
        action = answer.get("response_action")
        try:
            if not action:
                ws.close_view(view_id)
            elif action == "errors":
                errors = answer.get("errors")
                if not isinstance(errors, dict) or not errors:
                    return failed(TROUBLE)
                return Outcome(ok=False, errors={str(k): str(v) for k, v in errors.items()})
            elif action == "update":
                ws.update_view(ws.views[view_id], checked_view(answer.get("view"), kind="modal"))
            elif action == "push":
                ws.open_view(checked_view(answer.get("view"), kind="modal"), user, push=True)
            elif action == "clear":
                ws.close_view(ws.stacks[user][0])
            else:
                return failed(TROUBLE)
        except SlackError:
            return failed(TROUBLE)
        return Outcome()

    async def close_view(self, user: str, view_id: str, *, all_views: bool = False) -> Outcome:
        """The person closes the modal (Cancel: this one; ×: the whole stack)."""
        ws = self.slack.workspace
        stack = ws.stacks.get(user, [])
        if view_id not in stack:
            return Outcome()
        target = stack[0] if all_views else view_id
        notify = ws.views[target].view.get("notify_on_close")
        ws.close_view(target)
        if notify:
            payload = slack_requests.view_closed_payload(
                user=user, user_name=self._name(user), view=self.slack.view(target)
            )
            payload["is_cleared"] = all_views
            await self._send(slack_requests.interactive_body(payload), FORM)
        return Outcome()

    # ---- App Home ------------------------------------------------------------------------

    async def open_home(self, user: str) -> Outcome:
        """The person opens the app's Home tab: Slack sends app_home_opened."""
        ws = self.slack.workspace
        event: dict[str, Any] = {
            "type": "app_home_opened", "user": user, "channel": self.slack.dm_channel(user),
            "tab": "home", "event_ts": ws.next_ts(),
        }
        if user in ws.homes:
            event["view"] = self.slack.view(ws.homes[user])
        body = slack_requests.event_callback_body(event, bot_user=BOT_USER_ID)
        reply = await self._send(body, "application/json")
        if reply.status is None:
            return failed(f"The app did not answer ({reply.problem}).")
        return Outcome()


def _input_block(view: dict, action_id: str, block_id: str | None) -> str | None:
    """The block_id of the input block holding the element `action_id`, if it is in one."""
    try:
        block, _ = slack_requests.find_element(view.get("blocks", []), action_id, block_id)
    except LookupError:
        return None
    return str(block.get("block_id")) if block.get("type") == "input" else None
