"""How change is going, for Prometheus: series read from the database at scrape time.

Prometheus collects synchronously, and the database is async: a middleware refreshes a
snapshot before `GET /metrics` (at most once per `ttl`, one refresh at a time) and the
collector below only reads that snapshot. A snapshot that cannot be read keeps the last
one, and counts an error; the scrape itself never fails for it.

Deployments, failed deployments and lead times are DORA's (bot.insights.dora), over all
recorded history, so that `rate()` and `histogram_quantile()` in Grafana agree with
`changebot metrics`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.rows import facts_of
from bot.change.states import IN_PRODUCTION
from bot.context import Context
from bot.emergency.rules import awaits_emergency_approval
from bot.insights import dora
from bot.insights.dora import Span
from bot.insights.records import load_history
from storage.models import Approval, Change, Reminder
from storage.repo import CLOSED_STATUSES

log = logging.getLogger(__name__)

TTL = timedelta(seconds=30)
LEAD_TIME_BUCKETS = (3600.0, 4 * 3600.0, 86400.0, 2 * 86400.0, 7 * 86400.0, 30 * 86400.0)
OVERDUE_ITEMS = ("verification", "retrospective", "emergency_approval")
NO_CHANGE = "none"  # the category label of a deployment that matched no change
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    changes: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, category)
    deployments: dict[str, int] = field(default_factory=dict)  # category
    failed_deployments: dict[str, int] = field(default_factory=dict)  # category
    rollbacks: dict[str, int] = field(default_factory=dict)  # category
    overdue: dict[str, int] = field(default_factory=dict)  # one of OVERDUE_ITEMS
    reminders_pending: dict[str, int] = field(default_factory=dict)  # kind
    oldest_due_reminder: datetime | None = None
    lead_times: tuple[float, ...] = ()  # seconds

    def open_changes(self) -> dict[str, int]:
        found: Counter[str] = Counter()
        for (status, category), n in self.changes.items():
            if status not in CLOSED_STATUSES:
                found[category] += n
        return dict(found)


async def take(session: AsyncSession, ctx: Context) -> Snapshot:
    now = ctx.clock.now()
    history = await load_history(session, Span(_BEGINNING, now + timedelta(seconds=1)))
    deployments: Counter[str] = Counter()
    for deployment in history.deployments:
        change = history.change_of(deployment)
        deployments[change.category if change else NO_CHANGE] += 1
    failed: Counter[str] = Counter()
    for failure in history.failures.values():
        change = history.change_of(failure.deployment)
        failed[change.category if change else NO_CHANGE] += 1
    everything = dora.measure(history, Span(_BEGINNING, now + timedelta(seconds=1)))

    rows = await session.exec(select(Change.status, Change.category, func.count())
                              .group_by(Change.status, Change.category))
    rollbacks = await session.exec(
        select(Change.category, func.count()).where(col(Change.rollback_started_at).is_not(None))
        .group_by(Change.category))
    pending = (col(Reminder.sent_at).is_(None)) & (col(Reminder.cancelled_at).is_(None))
    reminders = await session.exec(select(Reminder.kind, func.count()).where(pending)
                                   .group_by(Reminder.kind))
    oldest = (await session.exec(select(func.min(Reminder.due_at))
                                 .where(pending, col(Reminder.due_at) <= now))).one()
    return Snapshot(
        taken_at=now,
        changes={(status, category): n for status, category, n in rows},
        deployments=dict(deployments), failed_deployments=dict(failed),
        rollbacks={category: n for category, n in rollbacks},
        overdue=await _overdue(session, ctx, now),
        reminders_pending={kind: n for kind, n in reminders},
        oldest_due_reminder=_aware(oldest),
        lead_times=tuple(t.total_seconds() for t in everything.lead_times),
    )


def _aware(moment: datetime | None) -> datetime | None:
    # An aggregate is not typed by the column, so SQLite hands back a naive UTC time.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def _overdue(session: AsyncSession, ctx: Context, now: datetime) -> dict[str, int]:
    verification = (await session.exec(select(func.count()).where(
        Change.status == "monitoring", col(Change.verified_at).is_(None),
        col(Change.monitoring_ends_at) <= now))).one()
    retrospective = (await session.exec(select(func.count()).where(
        Change.category == "emergency", col(Change.retrospective_done_at).is_(None),
        col(Change.retrospective_due_at) <= now))).one()
    # Emergencies in production past the approval window: the rules say whether approved.
    emergencies = (await session.exec(select(Change).where(
        Change.category == "emergency",
        col(Change.status).in_([s.value for s in IN_PRODUCTION]),
        col(Change.deployed_at) <= now - ctx.policy.windows.emergency_approval))).all()
    approvals = (await session.exec(select(Approval).where(
        col(Approval.change_id).in_([c.id for c in emergencies])))).all() if emergencies else []
    missing = sum(1 for change in emergencies if awaits_emergency_approval(
        facts_of(change, [a for a in approvals if a.change_id == change.id]), ctx.policy))
    return {"verification": verification, "retrospective": retrospective,
            "emergency_approval": missing}


class ChangeGauges(Collector):
    """Reads the last snapshot; `refresh` (awaited before a scrape) takes a new one."""

    def __init__(self, ctx: Context, ttl: timedelta = TTL) -> None:
        self.ctx, self.ttl = ctx, ttl
        self.snapshot: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            now = self.ctx.clock.now()
            if self.snapshot is not None and now - self.snapshot.taken_at < self.ttl:
                return
            try:
                async with self.ctx.db.snapshot() as session:
                    self.snapshot = await take(session, self.ctx)
            except Exception:
                log.exception("could not read the change gauges; keeping the last ones")
                self.ctx.metrics.errors.labels(where="change gauges").inc()

    def describe(self) -> list[Metric]:
        return []  # nothing to read at registration: the snapshot comes with the first scrape

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot or Snapshot(taken_at=self.ctx.clock.now())
        changes = GaugeMetricFamily("changebot_changes", "Changes by status and category",
                                    labels=["status", "category"])
        for (status, category), n in sorted(snap.changes.items()):
            changes.add_metric([status, category], n)
        yield changes
        yield _by("changebot_open_changes", "Changes not closed yet, by category",
                  snap.open_changes(), GaugeMetricFamily)
        yield _by("changebot_production_deployments",
                  "Production deployments (category none: matched no change)",
                  snap.deployments, CounterMetricFamily)
        yield _by("changebot_failed_deployments",
                  "Production deployments that needed immediate intervention: rolled back, "
                  "or fixed by an emergency change", snap.failed_deployments,
                  CounterMetricFamily)
        yield _by("changebot_rollbacks", "Rollbacks started, by category", snap.rollbacks,
                  CounterMetricFamily)
        overdue = GaugeMetricFamily("changebot_overdue",
                                    "Overdue verifications, retrospectives and emergency "
                                    "approvals", labels=["item"])
        for item in OVERDUE_ITEMS:
            overdue.add_metric([item], snap.overdue.get(item, 0))
        yield overdue
        reminders = GaugeMetricFamily("changebot_reminders_pending",
                                      "Reminders not sent or cancelled yet", labels=["kind"])
        for kind, n in sorted(snap.reminders_pending.items()):
            reminders.add_metric([kind], n)
        yield reminders
        age = (snap.taken_at - snap.oldest_due_reminder).total_seconds() \
            if snap.oldest_due_reminder else 0.0
        yield GaugeMetricFamily("changebot_oldest_due_reminder_age_seconds",
                                "How long the oldest due, unsent reminder has waited "
                                "(0: none due)", value=max(age, 0.0))
        yield _histogram(snap.lead_times)


def _by(name: str, documentation: str, counts: dict[str, int], family) -> Metric:
    metric = family(name, documentation, labels=["category"])
    for category, n in sorted(counts.items()):
        metric.add_metric([category], n)
    return metric


def _histogram(lead_times: tuple[float, ...]) -> Metric:
    buckets = [(_bound(le), sum(1 for t in lead_times if t <= le)) for le in LEAD_TIME_BUCKETS]
    buckets.append(("+Inf", len(lead_times)))
    return HistogramMetricFamily(
        "changebot_change_lead_time_seconds",
        "DORA change lead time: first commit (or proposal) to first production deployment",
        buckets=buckets, sum_value=sum(lead_times))


def _bound(seconds: float) -> str:
    return f"{seconds:.1f}"


def install(ctx: Context, ttl: timedelta = TTL) -> ChangeGauges:
    """Register the gauges in the app's registry; `refresh` them before each scrape."""
    gauges = ChangeGauges(ctx, ttl)
    ctx.metrics.registry.register(gauges)
    return gauges
