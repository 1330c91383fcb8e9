"""`/change metrics` in Slack: the figures of the last days, and the weekly chart uploaded
to the person's DM (files_upload_v2, as evidence packs are).

Read-only work on a snapshot: nothing to carry over a restart, so no reminder row.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.context import Context
from bot.insights import report
from bot.insights.dora import History, Span
from bot.insights.records import load_history
from bot.insights.report import Report

PERIODS = {"30d": 30, "90d": 90}


def last_days(ctx: Context, days: int) -> Span:
    now = ctx.clock.now()
    start = now - timedelta(days=days)
    return Span(start, now, f"{start:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC")


async def figures(ctx: Context, span: Span) -> tuple[Report, History]:
    """The report of `span` (with its trend), and the history it was read from."""
    async with ctx.db.snapshot() as session:
        history = await load_history(session, Span(span.previous().start, span.end))
    return report.build(history, span), history


async def upload_chart(ctx: Context, user: str, history: History, span: Span,
                       days: int) -> None:
    # matplotlib loads its fonts when imported: only when a chart is asked for, not at start.
    from bot.insights import chart

    title = f"Changebot: the last {days} days, week by week"
    png = await asyncio.to_thread(chart.weekly_png, history, span, title)
    dm = (await ctx.slack.conversations_open(users=user))["channel"]["id"]
    name = f"changebot-metrics-{days}d-{span.end:%Y-%m-%d}.png"
    await ctx.slack.files_upload_v2(
        channel=dm, file=png, filename=name, title=title, request_file_info=False,
        initial_comment=f"Deployments, change lead time and change fail rate, week by week, "
        f"for {span.label}.",
    )
