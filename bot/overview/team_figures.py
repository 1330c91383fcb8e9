"""The App Home's metrics line: the team's delivery figures (bot.insights.dora) of the last
METRICS_DAYS days.

They are the same for everyone and move slowly, but reading them costs about 100 ms once a
team deploys thousands of changes a month. So each process keeps the last figures it worked
out and shows them; when they are older than FRESH, the next desk shows them once more while
new ones are worked out in the background. Only the first desk after start waits for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.context import Context
from bot.insights import dora
from bot.insights.records import load_history

METRICS_DAYS = 30
FRESH = timedelta(minutes=5)
_KEY = "team_figures"


@dataclass
class _Kept:
    figures: dora.Figures
    at: datetime
    refreshing: bool = False


async def work_out(ctx: Context) -> dora.Figures | None:
    """The figures as the database holds them now; None when it cannot be read (the desk is
    worth showing without its metrics line)."""
    now = ctx.clock.now()
    span = dora.Span(now - timedelta(days=METRICS_DAYS), now)
    try:
        async with ctx.db.snapshot() as session:
            history = await load_history(session, span)
    except Exception:
        return None
    return dora.measure(history, span)


async def latest(ctx: Context) -> dora.Figures | None:
    """The figures this process last worked out (at most FRESH old, or being renewed)."""
    kept: _Kept | None = ctx.cache.get(_KEY)
    if kept is None:
        figures = await work_out(ctx)
        if figures is not None:
            ctx.cache[_KEY] = _Kept(figures, ctx.clock.now())
        return figures
    if ctx.clock.now() - kept.at >= FRESH and not kept.refreshing:
        kept.refreshing = True
        ctx.background.spawn(_renew(ctx, kept), name="renew the team's figures")
    return kept.figures


async def _renew(ctx: Context, kept: _Kept) -> None:
    try:
        figures = await work_out(ctx)
        if figures is not None:  # else the old ones stay, renewed at the next desk
            ctx.cache[_KEY] = _Kept(figures, ctx.clock.now())
    finally:
        kept.refreshing = False
