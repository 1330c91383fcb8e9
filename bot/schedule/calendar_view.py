"""The change calendar as Block Kit, built with slack_sdk.models so Slack's limits are
checked. Times are `<!date^…>`: each reader sees them in their own time zone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
)

from bot.change.card_view import STATUS_LABELS
from bot.change.states import format_change_id
from bot.deployment.business_hours import describe
from bot.policy import Policy
from bot.schedule.calendar import DEPLOYED, Entry, Week, by_day
from bot.schedule.freeze import Freeze
from bot.slack.blocks import context, section, to_dicts
from bot.slack.text import escape

PAGE_ACTION = "calendar_page"


def _time(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^{{time}}|{moment:%H:%M} UTC>"


def _when(moment: datetime) -> str:
    return (f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|"
            f"{moment:%Y-%m-%d %H:%M} UTC>")


def _line(entry: Entry, stamp: Callable[[datetime], str] = _time) -> str:
    change = entry.change
    name = (f"<{change.card}|{format_change_id(change.change_id)}>" if change.card
            else format_change_id(change.change_id))
    icon = ":rocket: deployed" if entry.kind == DEPLOYED else ":spiral_calendar_pad: planned"
    text = (f"{stamp(entry.at)} {icon} *{name}* {escape(change.title)} · "
            f"{STATUS_LABELS[change.status]}")
    if change.service:
        text += f" · `{change.service}`"
    if entry.freeze is not None:
        text += f"\n    :snowflake: inside the freeze {escape(entry.freeze.said)}"
    if entry.outside_business_hours:
        text += "\n    :crescent_moon: outside business hours"
    if entry.conflicts:
        others = ", ".join(format_change_id(n) for n in entry.conflicts)
        text += f"\n    :warning: conflicts with {others} on `{change.service}`"
    return text


def calendar_blocks(week: Week, page: Sequence[Entry], number: int, total: int,
                    count: int, freezes: Sequence[Freeze], policy: Policy) -> list[Block]:
    """One page of the week: the freezes, then the page's entries day by day, then paging."""
    first, last = week.days()[0], week.days()[-1]
    blocks: list[Block] = [
        HeaderBlock(text=f"Change calendar: {first:%a %d %b} – {last:%a %d %b %Y}"),
        context(f"{count} change{'s' if count != 1 else ''} planned or deployed · business "
                f"hours {describe(policy.business_hours)} · days in {week.zone.key}, times in "
                "yours" + (f" · page {number} of {total}" if total > 1 else "")),
    ]
    frozen = "\n".join(f":snowflake: {_when(f.starts_at)} → {_when(f.ends_at)} "
                       f"{escape(f.said)}" for f in freezes) or ":sunny: No freeze this week."
    blocks.append(section(f"*Freezes*\n{frozen}"))
    blocks.append(DividerBlock())
    days = by_day(page, week)
    for day, found in days:
        lines = "\n".join(_line(e) for e in found)
        blocks.append(section(f"*{day:%A %d %B}*\n{lines}"))
    if not days:
        blocks.append(section("Nothing planned or deployed this week."))
    if total > 1:
        buttons = []
        if number > 1:
            buttons.append(ButtonElement(text="Previous", action_id=f"{PAGE_ACTION}_previous",
                                         value=f"{week.monday.isoformat()}:{number - 1}"))
        if number < total:
            buttons.append(ButtonElement(text="Next", action_id=f"{PAGE_ACTION}_next",
                                         value=f"{week.monday.isoformat()}:{number + 1}"))
        blocks.append(ActionsBlock(block_id="calendar_pages", elements=buttons))
    return blocks


HOME_ENTRIES = 10


def home_blocks(week: Week, found: Sequence[Entry], freezes: Sequence[Freeze]) -> list[Block]:
    """This week on the App Home: the freezes, then the first entries; the rest is in
    `/change calendar`."""
    frozen = [f":snowflake: {_when(f.starts_at)} → {_when(f.ends_at)} {escape(f.said)}"
              for f in freezes]
    lines = [_line(e, _when) for e in found[:HOME_ENTRIES]]
    body = "\n".join(frozen + lines) or "Nothing planned or deployed this week."
    blocks: list[Block] = [HeaderBlock(text="This week"), section(body)]
    more = len(found) - HOME_ENTRIES
    blocks.append(context((f"…and {more} more: " if more > 0 else "") + "`/change calendar` "
                          "shows the whole week, `/change calendar next week` the next."))
    return blocks


def calendar_message(week: Week, page: Sequence[Entry], number: int, total: int, count: int,
                     freezes: Sequence[Freeze], policy: Policy) -> dict:
    blocks = calendar_blocks(week, page, number, total, count, freezes, policy)
    first = week.days()[0]
    return {"text": f"Change calendar, week of {first:%a %d %b %Y}: {count} changes",
            "blocks": to_dicts(blocks), "response_type": "ephemeral"}
