"""The History modal of `/change show`: every audit event of a change, a page at a time."""

from __future__ import annotations

import json
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
from bot.slack.text import clip, escape, slack_date, user
from storage.models import AuditEvent

HISTORY_BUTTON = "change_history"
HISTORY_PAGE_BUTTON = "change_history_page"


def history_button(change_id: int) -> ButtonElement:
    return ButtonElement(action_id=HISTORY_BUTTON, text="History", value=str(change_id))


def page_value(change_id: int, page: int) -> str:
    return json.dumps({"change_id": change_id, "page": page})


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(str(k).replace("_", " ") for k in value) or "—"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "—"
    return str(value)


def detail_text(event: AuditEvent) -> str:
    """The event's detail in one short line: `reason: Not now · revision: 2`."""
    parts = [f"{key.replace('_', ' ')}: {_value(value)}" for key, value in event.detail.items()
             if value not in (None, "", [], {})]
    return clip(escape(" · ".join(parts)), 600)


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
