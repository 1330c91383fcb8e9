"""The Slack Web API methods of the stand-in, one small function each.

A method takes the workspace, the decoded arguments and the request context, and returns
the fields of an `ok: true` answer; it raises `SlackError` for `ok: false`. Shapes and error
codes follow Slack's documentation (and the per-method docs of the
slack_kit client, priv/docs/methods).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.playground.standin.blockkit import block_errors, view_errors
from bot.playground.standin.entities import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    ts_key,
)
from bot.playground.standin.errors import SlackError, invalid_arguments, missing
from bot.playground.standin.state import Workspace

Args = dict[str, Any]


@dataclass(frozen=True)
class RequestContext:
    root_url: str  # where the stand-in is served, e.g. "http://127.0.0.1:PORT"


Handler = Callable[[Workspace, Args, RequestContext], dict[str, Any]]
# ---- argument helpers -------------------------------------------------------------------


def required(args: Args, name: str) -> Any:
    value = args.get(name)
    if value is None or value == "":
        raise missing(name)
    return value


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def id_list(value: Any) -> list[str]:
    """`users=U1,U2` (or a JSON list) as a list of ids."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def checked_blocks(blocks: Any) -> list[dict[str, Any]]:
    if isinstance(blocks, str):
        raise SlackError("invalid_blocks_format")
    errors = block_errors(blocks)
    if errors:
        raise SlackError("invalid_blocks", errors=errors,
                         response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})
    return copy.deepcopy(blocks)


def checked_metadata(metadata: Any) -> dict[str, Any]:
    valid = (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    )
    if not valid:
        raise SlackError("invalid_metadata_format")
    return copy.deepcopy(metadata)


def checked_view(view: Any, *, kind: str) -> dict[str, Any]:
    errors = view_errors(view)
    if not errors and view.get("type") != kind:
        errors = [f"view type must be {kind} [json-pointer:/view/type]"]
    if errors:
        raise invalid_arguments(*errors)
    return view


def message_content(args: Args) -> dict[str, Any]:
    """text/blocks/metadata/attachments of chat.*, validated like Slack; `no_text` if empty."""
    content: dict[str, Any] = {}
    if args.get("text") is not None:
        content["text"] = str(args["text"])
    if args.get("blocks") is not None:
        content["blocks"] = checked_blocks(args["blocks"])
    if args.get("attachments"):
        content["attachments"] = copy.deepcopy(args["attachments"])
    if args.get("metadata") is not None:
        content["metadata"] = checked_metadata(args["metadata"])
    if not (content.get("text") or content.get("blocks") or content.get("attachments")):
        raise SlackError("no_text")
    return content


def public(message: dict[str, Any], *, with_metadata: bool = True) -> dict[str, Any]:
    shown = copy.deepcopy(message)
    if not with_metadata:
        shown.pop("metadata", None)
    return shown


def permalink(channel: str, ts: str, thread_ts: str | None = None) -> str:
    link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


# ---- auth, users, groups ------------------------------------------------------------------


def auth_test(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": BOT_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def users_info(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    return {"user": ws.user(required(args, "user")).to_api()}


def users_lookup_by_email(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    email = str(required(args, "email")).lower()
    for user in ws.users.values():
        if user.email and user.email.lower() == email:
            return {"user": user.to_api()}
    raise SlackError("users_not_found")


def usergroups_users_list(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    group = ws.usergroups.get(required(args, "usergroup"))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}


def usergroups_list(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    include_users = truthy(args.get("include_users", False))
    return {"usergroups": [g.to_api(include_users=include_users) for g in ws.usergroups.values()]}


# ---- chat ----------------------------------------------------------------------------------


def chat_post_message(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"), allow_user=True)
    content = message_content(args)
    message = ws.post_message(
        channel.id, content, thread_ts=args.get("thread_ts") or None,
        broadcast=truthy(args.get("reply_broadcast", False)),
    )
    return {"channel": channel.id, "ts": message["ts"], "message": public(message)}


def chat_update(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    message = ws.find_message(channel.id, required(args, "ts"))
    if message is None:
        raise SlackError("message_not_found")
    if message.get("user") != BOT_USER_ID:
        raise SlackError("cant_update_message")
    changes = message_content(args)  # blocks left out are kept; `blocks: []` removes them
    message = ws.update_message(channel.id, message, changes)
    return {"channel": channel.id, "ts": message["ts"], "text": message["text"],
            "message": public(message)}


def chat_post_ephemeral(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"), allow_user=True)
    user = ws.user(required(args, "user"))
    content = message_content(args)
    ephemeral = ws.post_ephemeral(channel.id, user.id, content,
                                  thread_ts=args.get("thread_ts") or None)
    return {"message_ts": ephemeral["ts"]}


def chat_get_permalink(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    message = ws.find_message(channel.id, required(args, "message_ts"))
    if message is None:
        raise SlackError("message_not_found")
    link = permalink(channel.id, message["ts"], message.get("thread_ts"))
    return {"channel": channel.id, "permalink": link}


# ---- conversations -----------------------------------------------------------------------


def conversations_open(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    if args.get("channel"):
        channel, created = ws.channel(args["channel"]), False
    else:
        users = [u for u in id_list(args.get("users")) if u != BOT_USER_ID]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        for user in users:
            ws.user(user)
        channel, created = ws.open_dm(users[0]) if len(users) == 1 else ws.open_mpim(users)
    shown = channel.to_api() if truthy(args.get("return_im", False)) else {"id": channel.id}
    return {"no_op": not created, "already_open": not created, "channel": shown}


def conversations_info(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    return {"channel": ws.channel(args.get("channel")).to_api()}


def conversations_history(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    messages = [m for m in ws.history[channel.id] if _in_channel_view(m)]
    messages = _between(messages, args)
    messages.sort(key=lambda m: ts_key(m["ts"]), reverse=True)
    page, next_cursor = _page(messages, args)
    with_metadata = truthy(args.get("include_all_metadata", False))
    return {
        "messages": [public(m, with_metadata=with_metadata) for m in page],
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


def conversations_replies(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    message = ws.find_message(channel.id, required(args, "ts"))
    if message is None:
        raise SlackError("thread_not_found")
    thread_ts = message.get("thread_ts") or message["ts"]
    thread = [m for m in ws.history[channel.id]
              if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts]
    thread = _between(thread, args)
    page, next_cursor = _page(thread, args)
    with_metadata = truthy(args.get("include_all_metadata", False))
    return {
        "messages": [public(m, with_metadata=with_metadata) for m in page],
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


def _in_channel_view(message: dict[str, Any]) -> bool:
    """Top-level messages and thread broadcasts, not the replies inside threads."""
    thread_ts = message.get("thread_ts")
    return thread_ts in (None, message["ts"]) or message.get("subtype") == "thread_broadcast"


def _between(messages: list[dict[str, Any]], args: Args) -> list[dict[str, Any]]:
    inclusive = truthy(args.get("inclusive", False))
    oldest = ts_key(str(args["oldest"])) if args.get("oldest") else None
    latest = ts_key(str(args["latest"])) if args.get("latest") else None

    def keep(message: dict[str, Any]) -> bool:
        ts = ts_key(message["ts"])
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            return False
        return latest is None or ts < latest or (ts == latest and inclusive)

    return [m for m in messages if keep(m)]


def _page(items: list[dict[str, Any]], args: Args) -> tuple[list[dict[str, Any]], str]:
    """One page of `limit` items from `cursor`, and the next cursor ("" at the end)."""
    limit = max(1, min(int(args.get("limit") or 100), 999))
    start = 0
    if args.get("cursor"):
        try:
            start = int(base64.b64decode(str(args["cursor"])).decode().removeprefix("next:"))
        except ValueError as exc:
            raise SlackError("invalid_cursor") from exc
    end = start + limit
    next_cursor = base64.b64encode(f"next:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], next_cursor


# ---- views ---------------------------------------------------------------------------------


def _trigger_user(ws: Workspace, args: Args) -> str | None:
    trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
    if not trigger_id:
        raise SlackError("invalid_trigger_id")
    return ws.use_trigger(str(trigger_id))


def views_open(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    user = _trigger_user(ws, args)
    view = checked_view(required(args, "view"), kind="modal")
    return {"view": ws.open_view(view, user, push=False)}


def views_push(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    user = _trigger_user(ws, args)
    view = checked_view(required(args, "view"), kind="modal")
    return {"view": ws.open_view(view, user, push=True)}


def views_update(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    if not (args.get("view_id") or args.get("external_id")):
        raise invalid_arguments("either view_id or external_id is required")
    stored = ws.find_view(args.get("view_id"), args.get("external_id"))
    if args.get("hash") and args["hash"] != stored.view["hash"]:
        raise SlackError("hash_conflict")
    view = checked_view(required(args, "view"), kind=stored.kind)
    return {"view": ws.update_view(stored, view)}


def views_publish(ws: Workspace, args: Args, ctx: RequestContext) -> dict[str, Any]:
    user = ws.user(required(args, "user_id"))
    view = checked_view(required(args, "view"), kind="home")
    current = ws.homes.get(user.id)
    if args.get("hash") and current and args["hash"] != ws.views[current].view["hash"]:
        raise SlackError("hash_conflict")
    return {"view": ws.publish_home(user.id, view)}


# ---- files ---------------------------------------------------------------------------------


def files_get_upload_url_external(ws: Workspace, args: Args, ctx: RequestContext
                                  ) -> dict[str, Any]:
    filename = str(required(args, "filename"))
    try:
        length = int(required(args, "length"))
    except (TypeError, ValueError) as exc:
        raise invalid_arguments("length must be an integer") from exc
    stored = ws.reserve_file(filename, length)
    return {"upload_url": f"{ctx.root_url}/upload/{stored.id}", "file_id": stored.id}


def files_complete_upload_external(ws: Workspace, args: Args, ctx: RequestContext
                                   ) -> dict[str, Any]:
    entries = required(args, "files")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise invalid_arguments("files must be a JSON array of {id, title}")
    stored_files = []
    for entry in entries:
        stored = ws.files.get(entry.get("id"))
        if stored is None or stored.content is None:
            raise SlackError("file_not_found")
        stored_files.append((stored, entry.get("title")))
    channel_ids = id_list(args.get("channels")) or id_list(args.get("channel_id"))
    channels = [ws.channel(c) for c in channel_ids]
    share: dict[str, Any] = {"text": str(args.get("initial_comment") or ""), "upload": True}
    if args.get("blocks") is not None:
        share["blocks"] = checked_blocks(args["blocks"])
    for stored, title in stored_files:
        stored.title = title or stored.name
        stored.completed = True
        stored.channels = [c.id for c in channels]
    share["files"] = [s.to_api() for s, _ in stored_files]
    for channel in channels:
        ws.post_message(channel.id, copy.deepcopy(share), thread_ts=args.get("thread_ts") or None)
    return {"files": [s.to_api() for s, _ in stored_files]}


# The Web API methods the stand-in answers, by name.
HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.users.list": usergroups_users_list,
    "usergroups.list": usergroups_list,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
}
