"""Ephemeral answers to `/change list` and `/change show`."""

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.change.card_view import gate_line, gates_summary, kind_words, risk_label, status_label
from bot.change.states import format_change_id
from bot.emergency.views import fixes_note
from bot.overview.history import history_button
from bot.overview.queries import Summary
from bot.slack.blocks import first_listed, to_dicts
from bot.slack.text import clip, escape, slack_date, user
from storage.models import AuditEvent

MAX_LISTED = 20


def list_message(summaries: Sequence[Summary], viewer: str) -> dict:
    if not summaries:
        return {
            "text": "No open changes. Propose one with `/change new`.",
            "response_type": "ephemeral",
        }
    blocks: list = [HeaderBlock(text=f"Open changes ({len(summaries)})")]

    def line(summary: Summary) -> str:
        change, card = summary.change, summary.card
        mine = " · yours" if change.author_id == viewer else ""
        return (f"*{format_change_id(card.change_id)}* {escape(change.title)}\n"
                f"{kind_words(card.facts)} · *{status_label(card.facts)}* · "
                f"by {user(change.author_id)}{mine}\n"
                f"_{gates_summary(card.gates)}_")

    blocks += first_listed(summaries, line, MAX_LISTED, ". `/change show CHG-n` for one.")
    return {
        "text": f"{len(summaries)} open change(s)",
        "blocks": to_dicts(blocks),
        "response_type": "ephemeral",
    }


def show_message(summary: Summary, history: Sequence[AuditEvent]) -> dict:
    change, card = summary.change, summary.card
    cid = format_change_id(card.change_id)
    blocks: list = [
        HeaderBlock(text=clip(f"{cid}: {change.title}", 150)),
        SectionBlock(fields=[
            MarkdownTextObject(text=f"*Status*\n{status_label(card.facts)}"),
            MarkdownTextObject(text=f"*Author*\n{user(change.author_id)}"),
            MarkdownTextObject(text=f"*Category*\n{card.facts.category.label}"),
            MarkdownTextObject(text=f"*Risk*\n{risk_label(card.facts)}"),
            *([MarkdownTextObject(text=f"*Service*\n{escape(change.service)}")]
              if change.service else []),
            *([MarkdownTextObject(text=f"*Planned*\n{slack_date(change.planned_at)}")]
              if change.planned_at else []),
        ]),
        SectionBlock(text=MarkdownTextObject(
            text=clip(f"*Rollback plan*\n{escape(change.rollback_plan)}")
        )),
        *([SectionBlock(text=MarkdownTextObject(text=fixes_note(change.fixes_change_id)))]
          if change.fixes_change_id else []),
        SectionBlock(text=MarkdownTextObject(
            text=clip("*Gates*\n" + "\n".join(gate_line(g) for g in card.gates))
        )),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=clip(history_text(history)))),
        ActionsBlock(block_id="change_show_actions",
                     elements=[history_button(card.change_id)]),
    ]
    return {
        "text": f"{cid}: {change.title} ({status_label(card.facts)})",
        "blocks": to_dicts(blocks),
        "response_type": "ephemeral",
    }


def history_text(history: Sequence[AuditEvent]) -> str:
    lines = [
        f"• {slack_date(event.at)} — {event.action.replace('_', ' ')} by {user(event.actor)}"
        for event in history
    ]
    more = (f"\n_…{len(lines) - 30} earlier: see *History*_" if len(lines) > 30 else "")
    return "*History*" + more + "\n" + ("\n".join(lines[-30:]) if lines
                                        else "nothing recorded yet")
