"""The weekly chart of `/change metrics`: deployments, lead time and fail rate, as a PNG.

Drawn on a `matplotlib.figure.Figure` with the Agg canvas, never through pyplot: no global
state, so it is safe in a worker thread (callers run it with `asyncio.to_thread`).
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.insights import dora
from bot.insights.dora import History, Span

WIDTH, HEIGHT, DPI = 9, 7, 100  # 900 x 700 pixels


def weekly_png(history: History, span: Span, title: str) -> bytes:
    weeks = [dora.measure(history, week) for week in dora.weeks(span)]
    labels = [f.span.start.strftime("%d %b") for f in weeks]
    positions = list(range(len(weeks)))

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    deployments, lead, fails = figure.subplots(3, 1, sharex=True)
    figure.suptitle(title)

    deployments.bar(positions, [f.deployments for f in weeks], color="#2eb67d")
    deployments.set_ylabel("deployments")
    deployments.yaxis.get_major_locator().set_params(integer=True)

    hours = [f.lead_time.total_seconds() / 3600 if f.lead_time is not None else float("nan")
             for f in weeks]
    lead.plot(positions, hours, marker="o", color="#36c5f0")
    lead.set_ylabel("lead time (h, median)")
    lead.set_ylim(bottom=0)

    rates = [100 * f.change_fail_rate if f.change_fail_rate is not None else float("nan")
             for f in weeks]
    fails.plot(positions, rates, marker="o", color="#e01e5a")
    fails.set_ylabel("change fail rate (%)")
    fails.set_ylim(0, 100)
    fails.set_xticks(positions, labels)
    fails.set_xlabel("week starting")

    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
