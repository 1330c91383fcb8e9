"""What the fake Slack remembers: people, channels, messages, views and files.

Pure in-memory state with no HTTP in it. Every change is announced through `emit` (a small
event dict) so a browser page can follow along.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.playground.standin.entities import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_ID,
    Channel,
    StoredFile,
    StoredView,
    User,
    Usergroup,
)
from bot.playground.standin.errors import SlackError

VIEW_STACK_LIMIT = 3
TRIGGER_LIFETIME = timedelta(seconds=3)

Emit = Callable[[dict[str, Any]], None]
Clock = Callable[[], datetime]


class Workspace:
    """One Slack team as seen by the bot token."""

    def __init__(self, *, clock: Clock, emit: Emit) -> None:
        self._clock = clock
        self._emit = emit
        self._last_ts_micros = 0
        self._ids = itertools.count(1)
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}  # channel -> messages, oldest first
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, StoredView] = {}
        self.stacks: dict[str | None, list[str]] = {}  # user -> open modal view ids
        self.homes: dict[str, str] = {}  # user -> view id
        self.files: dict[str, StoredFile] = {}
        self.triggers: dict[str, tuple[str, datetime, bool]] = {}  # id -> user, issued, used
        self.add_user(BOT_USER_ID, BOT_NAME, real_name="Changebot", is_bot=True, bot_id=BOT_ID)

    # ---- ids and time -------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def next_ts(self) -> str:
        """A unique, increasing message ts taken from the clock ("1700000000.000100")."""
        micros = int(self.now().timestamp() * 1_000_000)
        micros = max(micros, self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    def new_hash(self) -> str:
        return f"{int(self.now().timestamp())}.{secrets.token_hex(4)}"

    # ---- people and channels ------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, real_name: str | None = None,
                 email: str | None = None, is_bot: bool = False, tz: str = "UTC",
                 bot_id: str | None = None) -> User:
        user = User(user_id, name, real_name or name, email, is_bot, tz, bot_id)
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> Channel:
        channel = Channel(channel_id, name.lstrip("#"), is_private=is_private)
        self.channels[channel_id] = channel
        self.history.setdefault(channel_id, [])
        return channel

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> Usergroup:
        group = Usergroup(group_id, handle.lstrip("@"), list(users))
        self.usergroups[group_id] = group
        return group

    def user(self, user_id: Any) -> User:
        if user_id not in self.users:
            raise SlackError("user_not_found")
        return self.users[user_id]

    def channel(self, ref: Any, *, allow_user: bool = False) -> Channel:
        """A channel by id (C/G/D), by name ("#changes"), or a person's DM when allow_user."""
        if not ref or not isinstance(ref, str):
            raise SlackError("channel_not_found")
        if ref in self.channels:
            return self.channels[ref]
        if allow_user and ref in self.users:
            return self.open_dm(ref)[0]
        for channel in self.channels.values():
            if not channel.is_im and channel.name == ref.lstrip("#"):
                return channel
        raise SlackError("channel_not_found")

    def open_dm(self, user_id: str) -> tuple[Channel, bool]:
        """The DM channel with a person ("D" + the user id's tail) and whether it is new."""
        for channel in self.channels.values():
            if channel.is_im and channel.user == user_id:
                return channel, False
        dm_id = "D" + user_id[1:]
        while dm_id in self.channels:
            dm_id += "X"
        channel = Channel(dm_id, dm_id, is_im=True, user=user_id, members=[user_id, BOT_USER_ID])
        self.channels[dm_id] = channel
        self.history[dm_id] = []
        return channel, True

    def open_mpim(self, user_ids: list[str]) -> tuple[Channel, bool]:
        members = sorted({*user_ids, BOT_USER_ID})
        digest = hashlib.sha1(",".join(members).encode()).hexdigest()[:8].upper()
        channel_id = "G" + digest
        if channel_id in self.channels:
            return self.channels[channel_id], False
        names = "--".join(self.users[u].name for u in members)
        channel = Channel(channel_id, f"mpdm-{names}-1", is_mpim=True, members=members)
        self.channels[channel_id] = channel
        self.history[channel_id] = []
        return channel, True

    # ---- messages ---------------------------------------------------------------------

    def find_message(self, channel_id: str, ts: Any) -> dict[str, Any] | None:
        for message in self.history.get(channel_id, []):
            if message["ts"] == ts:
                return message
        return None

    def post_message(self, channel_id: str, content: dict[str, Any], *,
                     user: str = BOT_USER_ID, thread_ts: str | None = None,
                     broadcast: bool = False) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "text": content.get("text") or ""}
        message.update({k: v for k, v in content.items() if k != "text"})
        message.update({"user": user, "ts": self.next_ts(), "team": TEAM_ID})
        if user == BOT_USER_ID:
            message.update({"bot_id": BOT_ID, "app_id": APP_ID})
        if thread_ts:
            message["thread_ts"] = self._join_thread(channel_id, thread_ts, message)
            if broadcast:
                message["subtype"] = "thread_broadcast"
        self.history.setdefault(channel_id, []).append(message)
        self._emit({"type": "message_posted", "channel": channel_id, "ts": message["ts"],
                    "message": copy.deepcopy(message)})
        return message

    def _join_thread(self, channel_id: str, thread_ts: str, reply: dict[str, Any]) -> str:
        parent = self.find_message(channel_id, thread_ts)
        if parent is None:
            return thread_ts
        if parent.get("thread_ts", parent["ts"]) != parent["ts"]:  # a reply: use its thread
            parent = self.find_message(channel_id, parent["thread_ts"]) or parent
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        parent["reply_users"] = sorted({*parent.get("reply_users", []), reply["user"]})
        parent["reply_users_count"] = len(parent["reply_users"])
        parent["latest_reply"] = reply["ts"]
        return parent["ts"]

    def update_message(self, channel_id: str, message: dict[str, Any],
                       changes: dict[str, Any]) -> dict[str, Any]:
        for key, value in changes.items():
            if key == "blocks" and value == []:
                message.pop("blocks", None)
            else:
                message[key] = value
        message["edited"] = {"user": BOT_USER_ID, "ts": self.next_ts()}
        self._emit({"type": "message_updated", "channel": channel_id, "ts": message["ts"],
                    "message": copy.deepcopy(message)})
        return message

    def delete_message(self, channel_id: str, message: dict[str, Any]) -> None:
        self.history[channel_id].remove(message)
        self._emit({"type": "message_deleted", "channel": channel_id, "ts": message["ts"]})

    def post_ephemeral(self, channel_id: str, user: str, content: dict[str, Any], *,
                       thread_ts: str | None = None) -> dict[str, Any]:
        ephemeral = {
            "type": "message",
            "subtype": "bot_message",
            "is_ephemeral": True,
            "channel": channel_id,
            "user": user,  # who sees it
            "ts": self.next_ts(),
            "thread_ts": thread_ts,
            "text": content.get("text") or "",
            "blocks": content.get("blocks"),
            "bot_id": BOT_ID,
        }
        self.ephemerals.append(ephemeral)
        self._emit({"type": "ephemeral_posted", "channel": channel_id, "user": user,
                    "message": copy.deepcopy(ephemeral)})
        return ephemeral

    def replace_ephemeral(self, ephemeral: dict[str, Any], changes: dict[str, Any]) -> None:
        ephemeral.update(changes)
        self._emit({"type": "ephemeral_replaced", "channel": ephemeral["channel"],
                    "user": ephemeral["user"], "message": copy.deepcopy(ephemeral)})

    def delete_ephemeral(self, ephemeral: dict[str, Any]) -> None:
        self.ephemerals.remove(ephemeral)
        self._emit({"type": "ephemeral_deleted", "channel": ephemeral["channel"],
                    "user": ephemeral["user"], "ts": ephemeral["ts"]})

    # ---- views -------------------------------------------------------------------------

    def issue_trigger(self, user: str) -> str:
        trigger_id = f"{next(self._ids)}.{int(self.now().timestamp())}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = (user, self.now(), False)
        return trigger_id

    def use_trigger(self, trigger_id: str) -> str | None:
        """The person a trigger was issued for (None if the stand-in did not issue it)."""
        if trigger_id not in self.triggers:
            return None
        user, issued, used = self.triggers[trigger_id]
        if used:
            raise SlackError("exchanged_trigger_id")
        if self.now() - issued > TRIGGER_LIFETIME:
            raise SlackError("expired_trigger_id")
        self.triggers[trigger_id] = (user, issued, True)
        return user

    def find_view(self, view_id: Any = None, external_id: Any = None) -> StoredView:
        for stored in self.views.values():
            if view_id and stored.view["id"] == view_id:
                return stored
            if external_id and stored.view.get("external_id") == external_id:
                return stored
        raise SlackError("not_found")

    def open_view(self, view: dict[str, Any], user: str | None, *, push: bool) -> dict[str, Any]:
        self._check_external_id(view)
        stack = self.stacks.get(user, []) if push else []
        if len(stack) >= VIEW_STACK_LIMIT:
            raise SlackError("push_limit_reached")
        view_id = self.new_id("V")
        root = stack[0] if stack else view_id
        previous = stack[-1] if stack else None
        shaped = self._shape_view(view, view_id, root=root, previous=previous)
        self.views[view_id] = StoredView(shaped, user, "modal")
        self.stacks[user] = [*stack, view_id]
        kind = "view_pushed" if push else "view_opened"
        self._emit({"type": kind, "user": user, "view": copy.deepcopy(shaped)})
        return shaped

    def update_view(self, stored: StoredView, view: dict[str, Any]) -> dict[str, Any]:
        old = stored.view
        if view.get("external_id") != old.get("external_id"):
            self._check_external_id(view)
        stored.view = self._shape_view(view, old["id"], root=old["root_view_id"],
                                       previous=old["previous_view_id"],
                                       state=_kept_state(old["state"], view))
        self._emit({"type": "view_updated", "user": stored.user,
                    "view": copy.deepcopy(stored.view)})
        return stored.view

    def type_into(self, view_id: str, entries: dict[str, dict[str, Any]]) -> None:
        """What a person typed or chose in a view's inputs: {block_id: {action_id: state}}."""
        values = self.views[view_id].view["state"].setdefault("values", {})
        for block_id, actions in entries.items():
            values.setdefault(block_id, {}).update(copy.deepcopy(actions))

    def publish_home(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        view_id = self.homes.get(user) or self.new_id("V")
        old = self.views.get(view_id)
        state = old.view["state"] if old else None
        shaped = self._shape_view(view, view_id, root=view_id, previous=None, state=state)
        self.views[view_id] = StoredView(shaped, user, "home")
        self.homes[user] = view_id
        self._emit({"type": "home_published", "user": user, "view": copy.deepcopy(shaped)})
        return shaped

    def close_view(self, view_id: str) -> None:
        """Take a modal (and those pushed above it) off its person's stack."""
        stored = self.views[view_id]
        stack = self.stacks.get(stored.user, [])
        if view_id in stack:
            self.stacks[stored.user] = stack[: stack.index(view_id)]
        self._emit({"type": "view_closed", "user": stored.user, "view_id": view_id})

    def _check_external_id(self, view: dict[str, Any]) -> None:
        external_id = view.get("external_id")
        if external_id and any(
            s.view.get("external_id") == external_id for s in self.views.values()
        ):
            raise SlackError("duplicate_external_id")

    def _shape_view(self, view: dict[str, Any], view_id: str, *, root: str,
                    previous: str | None, state: dict | None = None) -> dict[str, Any]:
        shaped: dict[str, Any] = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": copy.deepcopy(state) if state else {"values": {}},
            "hash": self.new_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root,
            "previous_view_id": previous,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        for key in ("title", "submit", "close"):
            if view.get(key) is not None:
                shaped[key] = copy.deepcopy(view[key])
        return shaped

    # ---- files -------------------------------------------------------------------------

    def reserve_file(self, name: str, length: int, title: str = "") -> StoredFile:
        file_id = self.new_id("F")
        stored = StoredFile(file_id, name, length, int(self.now().timestamp()), title)
        self.files[file_id] = stored
        return stored


def _kept_state(state: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """What Slack keeps of what was typed when a view is updated: the values of the inputs
    whose block_id and action_id are still there."""
    inputs = {(b.get("block_id"), (b.get("element") or {}).get("action_id"))
              for b in view.get("blocks", []) if b.get("type") == "input"}
    kept = {block_id: {action_id: value for action_id, value in actions.items()
                       if (block_id, action_id) in inputs}
            for block_id, actions in (state.get("values") or {}).items()}
    return {"values": {block_id: actions for block_id, actions in kept.items() if actions}}
