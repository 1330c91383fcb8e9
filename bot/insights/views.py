"""The `/change metrics` answer: DORA's five metrics, their trend and cluster, in Block Kit."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.insights import dora
from bot.insights.report import DORA_GUIDE, Report
from bot.slack.blocks import to_dicts

TREND_SIGNS = {"better": ":arrow_up_small: better", "worse": ":arrow_down_small: worse",
               "same": ":left_right_arrow: same", "": "no earlier data"}


def metrics_message(report: Report, days: int) -> dict:
    """An ephemeral answer: one section per metric, its value, trend and DORA cluster."""
    blocks: list[Block] = [
        HeaderBlock(text=f"How change is going: the last {days} days"),
        ContextBlock(elements=[MarkdownTextObject(
            text=f"{report.span.label}; trend against the {days} days before. "
            f"<{DORA_GUIDE}|DORA's software delivery metrics>; clusters from the "
            f"<{dora.CLUSTERS_URL}|{dora.CLUSTERS_SOURCE}>.")]),
    ]
    fields = []
    for row in report.rows:
        cluster = (f"*{row.cluster}* ({row.threshold})" if row.cluster
                   else "no DORA cluster" if row.metric == "rework_rate" else "no data")
        fields.append(f"*{row.label}*\n{row.shown}\n{TREND_SIGNS[row.trend]} · {cluster}")
    blocks += [SectionBlock(text=MarkdownTextObject(text=text)) for text in fields]
    blocks += [
        DividerBlock(),
        ContextBlock(elements=[MarkdownTextObject(
            text=":bar_chart: A weekly chart (deployments, lead time, fail rate) is on its "
            "way to your direct messages with me.")]),
    ]
    summary = "; ".join(f"{row.label}: {row.shown}" for row in report.rows)
    return {"text": f"DORA metrics, last {days} days: {summary}", "blocks": to_dicts(blocks),
            "response_type": "ephemeral"}
