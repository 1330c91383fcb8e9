"""DORA's metrics of a period as rows, and those rows as Markdown, CSV or JSON (no I/O)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import timedelta

from bot.insights import dora
from bot.insights.dora import Figures, History, Span

FORMATS = ("md", "csv", "json")
DORA_GUIDE = "https://dora.dev/guides/dora-metrics/"


@dataclass(frozen=True)
class Row:
    group: str
    metric: str  # a key of dora.METRIC_LABELS
    label: str
    value: float | None  # seconds, a share (0-1) or deployments per week
    unit: str
    shown: str
    cluster: str  # elite | high | medium | low, or "" when none applies
    threshold: str
    trend: str  # better | worse | same, or "" against a previous period without data


@dataclass(frozen=True)
class Report:
    span: Span
    previous: Span
    by: str | None
    rows: tuple[Row, ...]
    figures: dict[str, Figures]  # each group's figures in the span


def build(history: History, span: Span, by: str | None = None) -> Report:
    """`history` must hold the span and the one before it (for the trend)."""
    previous = span.previous()
    figures = dora.measure_by(history, span, by)
    rows = []
    for group, now in figures.items():
        before = dora.measure(history, previous, _same_group(by, group))
        rows.extend(rows_of(group, now, before))
    return Report(span, previous, by, tuple(rows), figures)


def _same_group(by: str | None, group: str) -> dora.Include:
    if by is None:
        return dora.everything
    return lambda d, c: dora.group_of(by, d, c) == group


def rows_of(group: str, now: Figures, before: Figures) -> list[Row]:
    shown, clusters, trend = dora.values_text(now), dora.clusters(now), dora.trend(now, before)
    values: dict[str, tuple[float | None, str]] = {
        "lead_time": (_seconds(now.lead_time), "seconds"),
        "deployment_frequency": (now.per_week, "per week"),
        "change_fail_rate": (now.change_fail_rate, "share"),
        "recovery_time": (_seconds(now.recovery_time), "seconds"),
        "rework_rate": (now.rework_rate, "share"),
    }
    rows = []
    for key, label in dora.METRIC_LABELS.items():
        cluster = clusters[key]
        value, unit = values[key]
        rows.append(Row(group, key, label, value, unit, shown[key],
                        cluster.name if cluster else "", cluster.threshold if cluster else "",
                        trend[key]))
    return rows


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def render(report: Report, fmt: str) -> str:
    if fmt == "csv":
        return _csv(report)
    if fmt == "json":
        return _json(report)
    if fmt == "md":
        return _markdown(report)
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")


def _csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group", "metric", "value", "unit", "shown", "cluster", "threshold",
                     "trend"])
    for r in report.rows:
        writer.writerow([r.group, r.metric, "" if r.value is None else round(r.value, 6),
                         r.unit, r.shown, r.cluster, r.threshold, r.trend])
    return out.getvalue()


def _json(report: Report) -> str:
    groups: dict[str, dict] = {}
    for r in report.rows:
        fields = asdict(r)
        del fields["group"], fields["metric"]
        groups.setdefault(r.group, {})[r.metric] = fields
    return json.dumps({
        "period": {"label": report.span.label, "start": report.span.start.isoformat(),
                   "end": report.span.end.isoformat()},
        "previous_period": {"start": report.previous.start.isoformat(),
                            "end": report.previous.end.isoformat()},
        "by": report.by,
        "definitions": DORA_GUIDE,
        "clusters_source": dora.CLUSTERS_SOURCE,
        "clusters_url": dora.CLUSTERS_URL,
        "groups": groups,
    }, indent=2) + "\n"


def _markdown(report: Report) -> str:
    lines = [f"# DORA metrics: {report.span.label}", "",
             f"Definitions: DORA's software delivery metrics ({DORA_GUIDE}). Clusters: "
             f"{dora.CLUSTERS_SOURCE} ({dora.CLUSTERS_URL}). Trend: against the "
             f"{report.span.days:g} days before.",
             ""]
    for group in report.figures:
        if report.by is not None:
            lines += [f"## {report.by.capitalize()}: {group}", ""]
        lines += ["| Metric | Value | DORA cluster | Trend |", "|---|---|---|---|"]
        for r in (r for r in report.rows if r.group == group):
            cluster = f"{r.cluster} ({r.threshold})" if r.cluster else "—"
            lines.append(f"| {r.label} | {r.shown} | {cluster} | {r.trend or '—'} |")
        lines.append("")
    if not report.figures:
        lines += ["No production deployment in this period.", ""]
    return "\n".join(lines)
