"""The History modal of `/change show`: every audit event of a change, a page at a time."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.change.states import format_change_id
from bot.overview.queries import HistoryPage
from bot.security.triggers import Trigger, summary
from bot.slack.text import clip, escape, slack_date, user
from storage.models import AuditEvent

HISTORY_BUTTON = "change_history"
HISTORY_PAGE_BUTTON = "change_history_page"


def history_button(change_id: int) -> ButtonElement:
    return ButtonElement(action_id=HISTORY_BUTTON, text="History", value=str(change_id))


def page_value(change_id: int, page: int) -> str:
    return json.dumps({"change_id": change_id, "page": page})


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# Keys whose list holds security triggers ({"source", "reason"}), said as one sentence.
_TRIGGER_KEYS = frozenset({"triggers", "security_triggers"})


# Keys that hold Slack ids: only these are shown as people, groups or channels (a reason
# that happens to read "WIP" stays a word).
_ID_KEYS = frozenset({"by", "approvers", "actor", "author", "user", "slack_user", "members",
                      "involved", "reviewers", "recipient", "deployed_by", "tech_leads",
                      "group", "channel", "broadcast_channel"})


def _word(key: str, value: str) -> str:
    """A stored word as people read it: a person or group by name (Slack renders the
    mention), a moment in the reader's time zone, anything else as text."""
    if key in _ID_KEYS and _USER_ID.match(value):
        return f"<@{value}>"
    if key in _ID_KEYS and _GROUP_ID.match(value):
        return f"<!subteam^{value}>"
    if key in _ID_KEYS and _CHANNEL_ID.match(value):
        return f"<#{value}>"
    if _MOMENT.match(value):
        try:
            return slack_date(datetime.fromisoformat(value))
        except ValueError:
            pass
    return escape(value)


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in _TRIGGER_KEYS and isinstance(value, list):
        found = [Trigger(str(t.get("source", "")), str(t.get("reason", "")))
                 for t in value if isinstance(t, dict)]
        return escape(summary(found)) or "none"
    if isinstance(value, dict):
        if set(value) == {"from", "to"}:  # a move: `in review → approved`
            return f"{_value(key, value['from'])} → {_value(key, value['to'])}"
        if all(isinstance(v, dict) for v in value.values()):  # e.g. which fields changed
            return ", ".join(escape(str(k).replace("_", " ")) for k in value) or "—"
        return ", ".join(f"{escape(str(k).replace('_', ' '))} {_value(str(k), v)}"
                         for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(_value(key, v) for v in value) or "—"
    if isinstance(value, str):
        return _word(key, value.replace("_", " ") if key == "status" else value)
    return escape(str(value))


def detail_text(event: AuditEvent) -> str:
    """The event's detail in one short line: `reason: Not now · revision: 2`, people and
    groups by name, yes/no rather than True/False, triggers as a sentence."""
    parts = [f"{key.replace('_', ' ')}: {_value(key, value)}"
             for key, value in event.detail.items() if value not in (None, "", [], {})]
    return clip(" · ".join(parts), 600)


def event_text(event: AuditEvent) -> str:
    what = event.action.replace("_", " ")
    lines = [f"*{what}* by {user(event.actor)} — {slack_date(event.at)}"]
    if detail := detail_text(event):
        lines.append(detail)
    lines.append(f"`#{event.id}` · hash `{event.hash[:16]}…`")
    return "\n".join(lines)


def history_modal(page: HistoryPage) -> dict:
    change = page.change
    cid = format_change_id(change.id)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip(f"*{cid}: {escape(change.title)}*"))),
        ContextBlock(elements=[MarkdownTextObject(
            text=f"{page.total} event{'s' if page.total != 1 else ''}, oldest first · page "
            f"{page.page + 1} of {page.pages} · each event carries the hash of the one before "
            "it, so the log is tamper-evident"
        )]),
        DividerBlock(),
    ]
    if not page.events:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="Nothing recorded yet.")))
    blocks += [SectionBlock(text=MarkdownTextObject(text=event_text(e))) for e in page.events]
    buttons = []
    if page.page > 0:
        buttons.append(ButtonElement(action_id=f"{HISTORY_PAGE_BUTTON}_earlier", text="← Earlier",
                                     value=page_value(change.id, page.page - 1)))
    if page.page + 1 < page.pages:
        buttons.append(ButtonElement(action_id=f"{HISTORY_PAGE_BUTTON}_later", text="Later →",
                                     value=page_value(change.id, page.page + 1)))
    if buttons:
        blocks.append(ActionsBlock(block_id="history_pages", elements=buttons))
    view = View(
        type="modal", callback_id="change_history", title=clip(f"{cid} history", 24),
        close="Close", blocks=blocks,
        private_metadata=json.dumps({"change_id": change.id, "page": page.page}),
    )
    return view.to_dict()
