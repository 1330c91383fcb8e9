"""`/change calendar [this week|next week|YYYY-MM-DD]`: a week of changes for the person who
asked, in their Slack time zone, a page at a time."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.models.blocks import Block

from bot.context import Context
from bot.schedule.calendar import Entry, Invalid, Week, entries, pages, parse_week, week_of
from bot.schedule.calendar_view import calendar_message, home_blocks
from bot.schedule.declared import as_freeze
from bot.schedule.freeze import Freeze, freezes_between
from bot.schedule.planned import planned
from storage import calendar_store, freeze_store


async def viewer_zone(ctx: Context, user: str) -> ZoneInfo:
    """The person's time zone as Slack knows it; the team's when Slack cannot say."""
    zones: dict = ctx.cache.setdefault("user_zones", {})
    if user not in zones:
        try:
            info = await ctx.slack.users_info(user=user)
            zones[user] = ZoneInfo(info["user"].get("tz") or "")
        except (ZoneInfoNotFoundError, ValueError, KeyError):
            return ctx.policy.business_hours.zone
        except Exception:  # Slack unreachable: the team's zone still gives a calendar
            return ctx.policy.business_hours.zone
    return zones[user]


async def calendar_for(ctx: Context, user: str, text: str) -> dict:
    """The first page of the week asked for; raises Invalid for a week it cannot read."""
    week = parse_week(text, ctx.clock.now(), await viewer_zone(ctx, user))
    return await _page(ctx, week, 1)


async def this_week_blocks(ctx: Context, user: str) -> list[Block]:
    """The App Home's "This week" section for `user`."""
    week = week_of(ctx.clock.now().astimezone(zone := await viewer_zone(ctx, user)).date(),
                   zone)
    found, declared = await _week(ctx, week)
    return home_blocks(week, found, freezes_between(ctx.policy, declared, week.start,
                                                    week.end))


async def calendar_page(ctx: Context, user: str, value: str) -> dict:
    """Another page (a Previous/Next button's value: `<monday>:<page>`)."""
    monday, _, number = value.partition(":")
    try:
        week = week_of(date.fromisoformat(monday), await viewer_zone(ctx, user))
        return await _page(ctx, week, max(1, int(number)))
    except ValueError:
        raise Invalid("That page of the calendar no longer exists: type `/change calendar` "
                      "again.") from None


async def _week(ctx: Context, week: Week) -> tuple[list[Entry], list[Freeze]]:
    """The week's entries, and the freezes declared in Slack that meet it."""
    async with ctx.db.session() as session:
        rows = await calendar_store.on_calendar(session, week.start, week.end)
        declared = [as_freeze(r) for r in await freeze_store.overlapping(session, week.start,
                                                                          week.end)]
    return entries(week, [planned(row) for row in rows], ctx.policy, declared), declared


async def _page(ctx: Context, week: Week, number: int) -> dict:
    found, declared = await _week(ctx, week)
    cut = pages(found)
    number = min(number, len(cut))
    freezes = freezes_between(ctx.policy, declared, week.start, week.end)
    return calendar_message(week, cut[number - 1], number, len(cut), len({
        e.change.change_id for e in found}), freezes, ctx.policy)
