"""What the bot posts to a response_url: a reply in the channel, an ephemeral one, or the
original message replaced or deleted, as Slack does it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.playground.standin.errors import SlackError
from bot.playground.standin.methods import checked_blocks
from bot.playground.standin.state import Workspace


@dataclass(frozen=True)
class ResponseTarget:
    user: str
    channel: str
    message_ts: str | None


def apply_response(ws: Workspace, target: ResponseTarget, body: dict[str, Any]) -> None:
    original = _original(ws, target)
    if body.get("delete_original"):
        if original is None:
            raise SlackError("message_not_found")
        _delete(ws, target.channel, original)
        return
    content = _response_content(body)
    if body.get("replace_original") and original is not None:
        _replace(ws, target.channel, original, content)
    elif body.get("response_type") == "in_channel":
        ws.post_message(target.channel, content, thread_ts=body.get("thread_ts"))
    else:
        ws.post_ephemeral(target.channel, target.user, content, thread_ts=body.get("thread_ts"))


def _original(ws: Workspace, target: ResponseTarget) -> dict[str, Any] | None:
    if target.message_ts is None:
        return None
    found = ws.find_message(target.channel, target.message_ts)
    if found is not None:
        return found
    return next((e for e in ws.ephemerals if e["ts"] == target.message_ts), None)


def _response_content(body: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {"text": str(body.get("text") or "")}
    if body.get("blocks") is not None:
        content["blocks"] = checked_blocks(body["blocks"])
    if not (content["text"] or content.get("blocks")):
        raise SlackError("no_text")
    return content


def _replace(ws: Workspace, channel: str, original: dict[str, Any],
             content: dict[str, Any]) -> None:
    """The original message is replaced wholesale: blocks left out are gone."""
    changes = {"text": content["text"], "blocks": content.get("blocks", [])}
    if original.get("is_ephemeral"):
        ws.replace_ephemeral(original, changes)
    else:
        ws.update_message(channel, original, changes)


def _delete(ws: Workspace, channel: str, original: dict[str, Any]) -> None:
    if original.get("is_ephemeral"):
        ws.delete_ephemeral(original)
    else:
        ws.delete_message(channel, original)
