"""The App Home tab: what is waiting for you, and where your own changes stand."""

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.change.card_view import gates_summary, status_label
from bot.change.states import format_change_id
from bot.overview.queries import Home, Summary
from bot.slack.text import clip, escape, user

MAX_PER_SECTION = 15


def _line(summary: Summary, links: dict[int, str], *, show_author: bool) -> SectionBlock:
    change, card = summary.change, summary.card
    by = f" · by {user(change.author_id)}" if show_author else ""
    cid = format_change_id(card.change_id)
    link = links.get(card.change_id)
    name = f"*<{link}|{cid}>*" if link else f"*{cid}*"  # to its card, once it is posted
    return SectionBlock(text=MarkdownTextObject(text=clip(
        f"{name} {escape(change.title)}\n"
        f"{status_label(card.facts)} · {card.facts.category.label}{by}\n"
        f"_{gates_summary(card.gates)}_"
    )))


def _section(title: str, summaries: list[Summary], links: dict[int, str], empty: str, *,
             show_author: bool) -> list:
    blocks: list = [HeaderBlock(text=title)]
    if not summaries:
        return [*blocks, ContextBlock(elements=[MarkdownTextObject(text=empty)])]
    blocks += [_line(s, links, show_author=show_author) for s in summaries[:MAX_PER_SECTION]]
    if len(summaries) > MAX_PER_SECTION:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"…and {len(summaries) - MAX_PER_SECTION} more: `/change list`"
        )]))
    return blocks


def home_view(home: Home, this_week: list | None = None) -> View:
    blocks = [
        SectionBlock(text=MarkdownTextObject(
            text="*Changebot* carries production changes through review, deployment and "
            "verification — and keeps the evidence."
        )),
        ActionsBlock(block_id="home_actions", elements=[
            ButtonElement(action_id="home_new_change", text="Propose a change",
                          style="primary"),
        ]),
        DividerBlock(),
        *_section("Waiting for your review", home.to_review, home.links,
                  "Nothing is waiting for you.", show_author=True),
        DividerBlock(),
        *_section("Your open changes", home.mine, home.links,
                  "You have no open changes. `/change new` proposes one.", show_author=False),
    ]
    if this_week:  # the change calendar's week (bot.schedule)
        blocks += [DividerBlock(), *this_week]
    return View(type="home", blocks=blocks)
