"""The App Home tab as each person's desk (bot.overview.desk_items says what is on it).

Drawn with slack_sdk.models, so that Slack's limits are checked before it is published:
sections Waiting for you, Your changes, In production now, Overdue, This week (the change
calendar, bot.schedule) and a line of the delivery metrics (bot.insights). Each item's change
id links to its card. `publish_desk` is the outbox kind "desk" (bot.overview.desk_refresh
schedules it for the people a change concerns when it moves).
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
)
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.change.states import format_change_id
from bot.context import Context
from bot.insights import dora
from bot.overview import team_figures
from bot.overview.desk_items import SHOWN, Desk, Item, desk_of
from bot.overview.team_figures import METRICS_DAYS
from bot.runtime.sweeper import Skip
from bot.schedule.calendar_page import this_week_blocks
from bot.slack import directory
from bot.slack.blocks import context, first_listed, section
from bot.slack.outbox import paced
from bot.slack.text import clip, escape
from storage.models import Reminder

MAX_PER_SECTION = SHOWN
# (title, the Desk's list, what an empty section says)
SECTIONS = (
    ("Waiting for you", "waiting", "Nothing is waiting for you."),
    ("Your changes", "mine", "You have no open changes. `/change new` proposes one."),
    ("In production now", "in_production", "Nothing is being monitored in production."),
    ("Overdue", "overdue", "Nothing is overdue."),
)


def item_text(item: Item) -> str:
    cid = format_change_id(item.change_id)
    name = f"<{item.link}|{cid}>" if item.link else f"{cid} (card not posted yet)"
    return clip(f"*{name}* {escape(item.title)}\n{item.detail}")


def _section(title: str, items: list[Item], empty: str) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text=f"{title} ({len(items)})" if items else title)]
    if not items:
        return [*blocks, context(empty)]
    return [*blocks, *first_listed(items, item_text, MAX_PER_SECTION, ": `/change list`")]


def unknown_note(desk: Desk) -> str:
    teams = " and the ".join(f"{name} team" for name in desk.unknown_teams)
    return (f":warning: Slack did not say just now whether you are in the {teams}: what "
            "waits for them is not listed here. Open this tab again in a minute.")


def metrics_line(figures: dora.Figures | None) -> str:
    if figures is None:
        return "Delivery metrics: not available right now. `/change metrics` for the detail."
    shown = dora.values_text(figures)
    return (f":bar_chart: Last {METRICS_DAYS} days: {shown['deployment_frequency']} · lead "
            f"time {shown['lead_time']} · change fail rate {shown['change_fail_rate']} · "
            f"recovery {shown['recovery_time']} — `/change metrics` for the detail")


def desk_view(desk: Desk, this_week: list[Block], metrics: str) -> View:
    blocks: list[Block] = [
        section("*Changebot* carries production changes through review, deployment and "
                "verification — and keeps the evidence."),
        ActionsBlock(block_id="home_actions", elements=[
            ButtonElement(action_id="home_new_change", text="Propose a change",
                          style="primary"),
        ]),
    ]
    for title, name, empty in SECTIONS:
        blocks += [DividerBlock(), *_section(title, getattr(desk, name), empty)]
        if name == "waiting" and desk.unknown_teams:
            blocks.append(context(unknown_note(desk)))
    if this_week:
        blocks += [DividerBlock(), *this_week]
    blocks += [DividerBlock(), context(metrics)]
    view = View(type="home", blocks=blocks)
    view.validate_json()  # Slack's limits (100 blocks, text lengths) before publishing
    return view


async def build_desk(ctx: Context, user: str) -> View:
    desk = await desk_of(ctx, user)
    week = await this_week_blocks(ctx, user)
    return desk_view(desk, week, metrics_line(await team_figures.latest(ctx)))


async def publish(ctx: Context, user: str) -> None:
    await ctx.slack.views_publish(user_id=user, view=await build_desk(ctx, user))


async def publish_desk(ctx: Context, reminder: Reminder) -> None:
    """The outbox kind "desk": publish the person's desk as it is now — or, for a user group
    (`S…`), each member's the directory knows right now (it lists them when the team is
    asked and when one of them opens the desk): no Slack call to the directory here, so
    a move never costs the routing its lookups. Anyone else sees theirs when opening it."""
    if not reminder.recipient:
        raise Skip("no person to publish a desk for")
    if reminder.recipient.startswith("S"):
        members = directory.known_members(ctx, reminder.recipient)
        if members is None:
            raise Skip("the team's members are not known just now")
        for member in sorted(members):  # not paced: a row handed back would start over
            await publish(ctx, member)
        return
    view = await build_desk(ctx, reminder.recipient)
    await paced(ctx, "views.publish", AsyncWebClient.views_publish,
                user_id=reminder.recipient, view=view)
