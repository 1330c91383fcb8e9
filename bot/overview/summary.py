"""Ephemeral answers to `/change list` and `/change show`."""

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.change.card_view import gate_line, gates_summary, kind_words, risk_label, status_label
from bot.change.states import format_change_id
from bot.emergency.views import fixes_note
from bot.overview.history import history_button
from bot.overview.queries import ListPage, Shown, Summary
from bot.slack.blocks import to_dicts
from bot.slack.text import clip, escape, slack_date, user
from storage.models import AuditEvent

LIST_PAGE_BUTTON = "change_list_page"  # _previous, _next; the value is the page (0: first)


def list_message(listed: ListPage, viewer: str) -> dict:
    """A page of the open changes, then "…and N more" and the buttons to the other pages."""
    if not listed.total:
        return {
            "text": "No open changes. Propose one with `/change new`.",
            "response_type": "ephemeral",
        }
    on_page = (f" · page {listed.page + 1} of {listed.pages}" if listed.pages > 1 else "")
    blocks: list[Block] = [HeaderBlock(text=f"Open changes ({listed.total}){on_page}")]

    def line(summary: Summary) -> str:
        change, card = summary.change, summary.card
        mine = " · yours" if change.author_id == viewer else ""
        return (f"*{format_change_id(card.change_id)}* {escape(change.title)}\n"
                f"{kind_words(card.facts)} · *{status_label(card.facts)}* · "
                f"by {user(change.author_id)}{mine}\n"
                f"_{gates_summary(card.gates)}_")

    blocks += [SectionBlock(text=MarkdownTextObject(text=clip(line(s))))
               for s in listed.summaries]
    if listed.after:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"…and {listed.after} more. `/change show CHG-n` for one.")]))
    if buttons := page_buttons(listed):
        blocks.append(ActionsBlock(block_id="change_list_pages", elements=buttons))
    return {
        "text": f"{listed.total} open change(s)",
        "blocks": to_dicts(blocks),
        "response_type": "ephemeral",
    }


def page_buttons(listed: ListPage) -> list[ButtonElement]:
    buttons = []
    if listed.page > 0:
        buttons.append(ButtonElement(action_id=f"{LIST_PAGE_BUTTON}_previous",
                                     text="← Previous", value=str(listed.page - 1)))
    if listed.after:
        buttons.append(ButtonElement(action_id=f"{LIST_PAGE_BUTTON}_next",
                                     text=f"Next {min(listed.after, listed.size)} →",
                                     value=str(listed.page + 1)))
    return buttons


def show_message(shown: Shown) -> dict:
    change, card = shown.summary.change, shown.summary.card
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
        SectionBlock(text=MarkdownTextObject(text=clip(history_text(shown.events,
                                                                    shown.total)))),
        ActionsBlock(block_id="change_show_actions",
                     elements=[history_button(card.change_id)]),
    ]
    return {
        "text": f"{cid}: {change.title} ({status_label(card.facts)})",
        "blocks": to_dicts(blocks),
        "response_type": "ephemeral",
    }


def history_text(events: Sequence[AuditEvent], total: int) -> str:
    """The last events (as many as were read) and how many came before them."""
    lines = [
        f"• {slack_date(event.at)} — {event.action.replace('_', ' ')} by {user(event.actor)}"
        for event in events
    ]
    earlier = total - len(lines)
    more = f"\n_…{earlier} earlier: see *History*_" if earlier > 0 else ""
    return "*History*" + more + "\n" + ("\n".join(lines) if lines else "nothing recorded yet")
