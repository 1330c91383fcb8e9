"""Who and what the fake Slack knows: its fixed names (team, bot, app), and the people,
channels, user groups, views and files a Workspace holds, each as Slack's API shows it."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TEAM_ID = "T0TEAM"
TEAM_NAME = "Changebot Demo"
TEAM_DOMAIN = "demo"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
BOT_NAME = "changebot"
APP_ID = "A0CHANGEBOT"


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str | None = None
    is_bot: bool = False
    tz: str = "UTC"
    bot_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The `user` object of users.info."""
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.name,
            "team": TEAM_ID,
        }
        if self.email:
            profile["email"] = self.email
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": False,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": _utc_offset_seconds(self.tz),
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
        }


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None  # the other person of a DM
    members: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        """The `channel` object of conversations.info / conversations.open(return_im)."""
        base: dict[str, Any] = {"id": self.id, "created": 0, "is_im": self.is_im}
        if self.is_im:
            return {**base, "user": self.user, "is_org_shared": False}
        return {
            **base,
            "name": self.name,
            "is_channel": not (self.is_private or self.is_mpim),
            "is_group": self.is_private,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "is_archived": False,
            "is_member": True,
        }


@dataclass
class Usergroup:
    id: str
    handle: str
    users: list[str]

    def to_api(self, *, include_users: bool = False) -> dict[str, Any]:
        group: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "name": self.handle,
            "handle": self.handle,
            "user_count": len(self.users),
        }
        if include_users:
            group["users"] = list(self.users)
        return group


@dataclass
class StoredView:
    view: dict[str, Any]
    user: str | None
    kind: str  # "modal" or "home"


@dataclass
class StoredFile:
    id: str
    name: str
    length: int
    created: int
    title: str = ""
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)
    completed: bool = False

    def to_api(self) -> dict[str, Any]:
        """The file object of files.completeUploadExternal and of a message's `files`."""
        mimetype = mimetypes.guess_type(self.name)[0] or "application/octet-stream"
        filetype = self.name.rsplit(".", 1)[-1] if "." in self.name else "binary"
        url = f"https://files.slack.com/files-pri/{TEAM_ID}-{self.id}/{self.name}"
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": BOT_USER_ID,
            "user_team": TEAM_ID,
            "editable": False,
            "size": len(self.content or b""),
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(self.channels),
            "url_private": url,
            "url_private_download": url + "?download=1",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{self.id}/{self.name}",
            "channels": list(self.channels),
        }

    def summary(self) -> dict[str, Any]:
        """What `FakeSlack.uploaded_files()` shows a test: the file and its bytes."""
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "length": self.length,
            "content": self.content,
            "channels": list(self.channels),
            "completed": self.completed,
        }


def ts_key(ts: str) -> Decimal:
    """Message timestamps compare as decimals ("1700000000.000100"), never as floats."""
    return Decimal(ts)


def _utc_offset_seconds(tz: str) -> int:
    try:
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0
