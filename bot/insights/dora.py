"""DORA's five software delivery metrics, computed from change records (no I/O here).

The definitions are DORA's ("DORA's software delivery metrics", https://dora.dev/guides/dora-metrics/),
read against what Changebot records:

- **Change lead time**: from the change's first commit (the first commit of its pull
  request) to its first production deployment. A change without a pull request, or whose
  first commit is not known, is measured from its proposal. Counted once per change, in
  the period of that first deployment; the figure is the median.
- **Deployment frequency**: production deployments in the period: those Changebot
  recorded (deployed from Slack, or reported by GitHub) and GitHub's production
  deployments that matched no change. A change deployed several times counts each time.
- **Change fail rate**: the share of those deployments that needed immediate
  intervention: a rollback of the change, or an emergency change that names it as the
  change it fixes (`fixes_change_id`). The deployment that failed is the change's last
  production deployment before the rollback started, or before the emergency was
  proposed; a deployment both rolled back and fixed counts once.
- **Failed deployment recovery time**: from the failed deployment to the end of its
  rollback, or to the first production deployment of the emergency that fixes it,
  whichever came first. A failure not yet recovered has no time; it is counted apart.
  The figure is the median.
- **Deployment rework rate**: the share of deployments that were unplanned and caused by
  an incident in production: the deployments of emergency changes.

Links are recorded, never guessed: a change is "fixed by" an emergency only when it names it.
The performance clusters are those of DORA's *2023 Accelerate State of DevOps Report*
(https://dora.dev/research/2023/dora-report/), its table of software delivery performance
clusters; DORA publishes no cluster for the rework rate. The figures below were checked
against that table as Octopus Deploy, a sponsor of the report, reproduces it
(https://octopus.com/blog/software-delivery-performance-clusters-2023): elite — on demand,
lead time under a day, 5 %, recovery under an hour; high — once a day to once a week, a day
to a week, 10 %, under a day; medium — once a week to once a month, a week to a month, 15 %,
a day to a week; low — once a week to once a month, a week to a month, 64 %, one to six
months. The report's page number could not be confirmed from a copy of the report itself.
The 2024 report (https://dora.dev/research/2024/dora-report/) is not used: its high and
medium clusters invert the fail rate (20 % and 10 %) and share "less than a day" of
recovery, so they cannot be read as one threshold per metric.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

EMERGENCY = "emergency"
NO_CHANGE = "(no change)"
NO_REPO = "(no repository)"
GROUPINGS = ("repo", "category", "team")


@dataclass(frozen=True)
class Span:
    """A stretch of time: `start` included, `end` excluded (aware UTC)."""

    start: datetime
    end: datetime
    label: str = ""

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def previous(self) -> Span:
        """The span of the same length just before this one."""
        length = self.end - self.start
        return Span(self.start - length, self.start, f"the {round(self.days)} days before")


@dataclass(frozen=True)
class ChangeRecord:
    id: int
    category: str
    proposed_at: datetime
    repo: str | None = None
    first_commit_at: datetime | None = None
    rollback_started_at: datetime | None = None
    rollback_finished_at: datetime | None = None
    fixes_change_id: int | None = None  # an emergency: the change it repairs

    @property
    def emergency(self) -> bool:
        return self.category == EMERGENCY


@dataclass(frozen=True)
class DeploymentRecord:
    """One production deployment; `change_id` is None when it matched no change."""

    at: datetime
    change_id: int | None = None
    repo: str | None = None


@dataclass(frozen=True)
class Failure:
    deployment: DeploymentRecord
    cause: str  # rollback | emergency CHG-n
    recovered_at: datetime | None

    @property
    def recovery(self) -> timedelta | None:
        return None if self.recovered_at is None else self.recovered_at - self.deployment.at


@dataclass(frozen=True)
class Figures:
    """The five metrics of one span (and one group of changes, when grouped)."""

    span: Span
    deployments: int
    lead_times: tuple[timedelta, ...]
    failures: tuple[Failure, ...]
    rework: int

    @property
    def per_week(self) -> float:
        return self.deployments / (self.span.days / 7) if self.span.days else 0.0

    @property
    def per_day(self) -> float:
        return self.deployments / self.span.days if self.span.days else 0.0

    @cached_property  # a median of thousands, read by every desk
    def lead_time(self) -> timedelta | None:
        return median(self.lead_times)

    @property
    def change_fail_rate(self) -> float | None:
        return len(self.failures) / self.deployments if self.deployments else None

    @cached_property
    def recoveries(self) -> tuple[timedelta, ...]:
        return tuple(f.recovery for f in self.failures if f.recovery is not None)

    @property
    def unrecovered(self) -> int:
        return sum(1 for f in self.failures if f.recovered_at is None)

    @cached_property  # a median of thousands, read by every desk
    def recovery_time(self) -> timedelta | None:
        return median(self.recoveries)

    @property
    def rework_rate(self) -> float | None:
        return self.rework / self.deployments if self.deployments else None


def median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


# --------------------------------------------------------------------------------------
# The history: every deployment, and which of them failed
# --------------------------------------------------------------------------------------


@dataclass
class History:
    """All the records the metrics read, indexed once."""

    changes: dict[int, ChangeRecord]
    deployments: list[DeploymentRecord]  # sorted by time
    by_change: dict[int, list[DeploymentRecord]] = field(default_factory=dict)
    failures: dict[DeploymentRecord, Failure] = field(default_factory=dict)

    @classmethod
    def of(cls, changes: Iterable[ChangeRecord],
           deployments: Iterable[DeploymentRecord]) -> History:
        history = cls({c.id: c for c in changes}, sorted(deployments, key=lambda d: d.at))
        for deployment in history.deployments:
            if deployment.change_id is not None:
                history.by_change.setdefault(deployment.change_id, []).append(deployment)
        history.failures = history._find_failures()
        return history

    def deployed_in(self, span: Span) -> list[DeploymentRecord]:
        """The deployments in the span, found by bisection (they are sorted by time)."""
        start = bisect.bisect_left(self.deployments, span.start, key=lambda d: d.at)
        end = bisect.bisect_left(self.deployments, span.end, key=lambda d: d.at)
        return self.deployments[start:end]

    def change_of(self, deployment: DeploymentRecord) -> ChangeRecord | None:
        return None if deployment.change_id is None else self.changes.get(deployment.change_id)

    def first_deployment(self, change_id: int) -> DeploymentRecord | None:
        found = self.by_change.get(change_id)
        return found[0] if found else None

    def last_deployment_before(self, change_id: int, moment: datetime) -> DeploymentRecord | None:
        before = [d for d in self.by_change.get(change_id, []) if d.at <= moment]
        return before[-1] if before else None

    def _find_failures(self) -> dict[DeploymentRecord, Failure]:
        found: dict[DeploymentRecord, Failure] = {}
        for change in self.changes.values():
            if change.rollback_started_at is None:
                continue
            failed = self.last_deployment_before(change.id, change.rollback_started_at)
            if failed is not None:  # a rollback before production is no failed deployment
                found[failed] = Failure(failed, "rollback", change.rollback_finished_at)
        for fix in self.changes.values():
            if fix.fixes_change_id is None or fix.fixes_change_id == fix.id:
                continue
            failed = self.last_deployment_before(fix.fixes_change_id, fix.proposed_at)
            if failed is None:
                continue
            fixed = self.first_deployment(fix.id)
            cause = f"emergency CHG-{fix.id}"
            recovered = [fixed.at] if fixed else []
            earlier = found.get(failed)
            if earlier is not None:
                cause = f"{earlier.cause} and {cause}"
                recovered += [earlier.recovered_at] if earlier.recovered_at else []
            found[failed] = Failure(failed, cause, min(recovered, default=None))
        return found


# --------------------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------------------

Include = Callable[[DeploymentRecord, ChangeRecord | None], bool]


def everything(_deployment: DeploymentRecord, _change: ChangeRecord | None) -> bool:
    return True


def measure(history: History, span: Span, include: Include = everything) -> Figures:
    """The five metrics of the deployments in `span` that `include` keeps."""
    deployments = [d for d in history.deployed_in(span) if include(d, history.change_of(d))]
    lead_times = []
    for deployment in deployments:
        change = history.change_of(deployment)
        if change is None or history.first_deployment(change.id) is not deployment:
            continue  # an unmatched deployment, or a change's second deployment
        start = change.first_commit_at or change.proposed_at
        lead_times.append(max(deployment.at - start, timedelta(0)))
    failures = tuple(history.failures[d] for d in deployments if d in history.failures)
    rework = sum(1 for d in deployments
                 if (change := history.change_of(d)) and change.emergency)
    return Figures(span, len(deployments), tuple(lead_times), failures, rework)


def group_of(by: str, deployment: DeploymentRecord, change: ChangeRecord | None) -> str:
    """The group a deployment belongs to. A team is the owner of the repository (the GitHub
    organisation or account): Changebot records no team of its own."""
    repo = deployment.repo or (change.repo if change else None)
    if by == "repo":
        return repo or NO_REPO
    if by == "category":
        return change.category if change else NO_CHANGE
    if by == "team":
        return repo.split("/", 1)[0] if repo else NO_REPO
    raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")


def measure_by(history: History, span: Span, by: str | None) -> dict[str, Figures]:
    """{"all": figures}, or the figures of each group that deployed in the span."""
    if by is None:
        return {"all": measure(history, span)}
    groups = sorted({group_of(by, d, history.change_of(d))
                     for d in history.deployed_in(span)})
    return {g: measure(history, span, _in_group(by, g)) for g in groups}


def _in_group(by: str, group: str) -> Include:
    def include(deployment: DeploymentRecord, change: ChangeRecord | None) -> bool:
        return group_of(by, deployment, change) == group

    return include


def weeks(span: Span) -> list[Span]:
    """The span cut in weeks from its start (the last one may be shorter)."""
    cuts, start = [], span.start
    while start < span.end:
        end = min(start + timedelta(days=7), span.end)
        cuts.append(Span(start, end, start.date().isoformat()))
        start = end
    return cuts


# --------------------------------------------------------------------------------------
# DORA's performance clusters
# --------------------------------------------------------------------------------------

CLUSTERS_SOURCE = "Accelerate State of DevOps Report 2023 (DORA)"
CLUSTERS_URL = "https://dora.dev/research/2023/dora-report/"
CLUSTERS_YEAR = 2023
CLUSTER_NAMES = ("elite", "high", "medium", "low")


@dataclass(frozen=True)
class Cluster:
    name: str  # elite | high | medium | low
    threshold: str  # the report's wording of the cluster, for this metric

    def __str__(self) -> str:
        return f"{self.name} ({self.threshold}; {CLUSTERS_SOURCE})"


# Each metric: (limit, name, the report's wording); a value in the first row whose limit it
# meets belongs to that cluster. The report gives bands for throughput and recovery (the
# limit is the band's slow end) and one figure per cluster for the fail rate. "On demand"
# is read as at least once a day. Its low cluster repeats the medium band for frequency and
# lead time: a value slower than the medium band is placed in low, and says so.
_DAY, _WEEK, _MONTH = timedelta(days=1), timedelta(days=7), timedelta(days=30)
FREQUENCY_CLUSTERS = (  # deployments per day, at least
    (1.0, "elite", "on demand"),
    (1 / 7, "high", "between once per day and once per week"),
    (1 / 30, "medium", "between once per week and once per month"),
    (0.0, "low", "less than once per month; the report's low cluster: between once per "
                 "week and once per month"),
)
LEAD_TIME_CLUSTERS = (  # less than
    (_DAY, "elite", "less than one day"),
    (_WEEK, "high", "between one day and one week"),
    (_MONTH, "medium", "between one week and one month"),
    (timedelta.max, "low", "more than one month; the report's low cluster: between one "
                           "week and one month"),
)
FAIL_RATE_CLUSTERS = (  # at most
    (0.05, "elite", "5%"),
    (0.10, "high", "10%"),
    (0.15, "medium", "15%"),
    (1.0, "low", "more than 15%; the report's low cluster: 64%"),
)
RECOVERY_CLUSTERS = (  # less than
    (timedelta(hours=1), "elite", "less than one hour"),
    (_DAY, "high", "less than one day"),
    (_WEEK, "medium", "between one day and one week"),
    (timedelta.max, "low", "more than one week; the report's low cluster: between one "
                           "month and six months"),
)


def frequency_cluster(per_day: float) -> Cluster:
    return next(Cluster(n, t) for limit, n, t in FREQUENCY_CLUSTERS if per_day >= limit)


def lead_time_cluster(lead_time: timedelta | None) -> Cluster | None:
    if lead_time is None:
        return None
    return next(Cluster(n, t) for limit, n, t in LEAD_TIME_CLUSTERS if lead_time < limit)


def fail_rate_cluster(rate: float | None) -> Cluster | None:
    if rate is None:
        return None
    return next(Cluster(n, t) for limit, n, t in FAIL_RATE_CLUSTERS if rate <= limit)


def recovery_cluster(recovery: timedelta | None) -> Cluster | None:
    if recovery is None:
        return None
    return next(Cluster(n, t) for limit, n, t in RECOVERY_CLUSTERS if recovery < limit)


def clusters(figures: Figures) -> dict[str, Cluster | None]:
    """Each metric's cluster; None when there is nothing to place (or, for the rework rate,
    no cluster published)."""
    return {
        "lead_time": lead_time_cluster(figures.lead_time),
        "deployment_frequency": frequency_cluster(figures.per_day),
        "change_fail_rate": fail_rate_cluster(figures.change_fail_rate),
        "recovery_time": recovery_cluster(figures.recovery_time),
        "rework_rate": None,
    }


# --------------------------------------------------------------------------------------
# Saying the figures
# --------------------------------------------------------------------------------------

METRIC_LABELS = {
    "lead_time": "Change lead time (median)",
    "deployment_frequency": "Deployment frequency",
    "change_fail_rate": "Change fail rate",
    "recovery_time": "Failed deployment recovery time (median)",
    "rework_rate": "Deployment rework rate",
}


def duration_text(value: timedelta | None) -> str:
    if value is None:
        return "n/a"
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(round(minutes / 60), 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def rate_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def values_text(figures: Figures) -> dict[str, str]:
    """Each metric's figure, as people read it."""
    recovery = duration_text(figures.recovery_time)
    if figures.unrecovered:
        recovery += f" ({figures.unrecovered} not recovered yet)"
    failures = len(figures.failures)
    return {
        "lead_time": duration_text(figures.lead_time),
        "deployment_frequency": f"{figures.deployments} deployment(s), "
                                f"{figures.per_week:.1f} per week",
        "change_fail_rate": f"{rate_text(figures.change_fail_rate)} "
                            f"({failures} of {figures.deployments})",
        "recovery_time": recovery,
        "rework_rate": f"{rate_text(figures.rework_rate)} "
                       f"({figures.rework} of {figures.deployments})",
    }


def trend(now: Figures, before: Figures) -> dict[str, str]:
    """Each metric against the previous span: "better", "worse", "same" or "" (no data)."""
    pairs: dict[str, tuple[float | None, float | None, bool]] = {  # higher is better?
        "lead_time": (_seconds(now.lead_time), _seconds(before.lead_time), False),
        "deployment_frequency": (now.per_day, before.per_day, True),
        "change_fail_rate": (now.change_fail_rate, before.change_fail_rate, False),
        "recovery_time": (_seconds(now.recovery_time), _seconds(before.recovery_time), False),
        "rework_rate": (now.rework_rate, before.rework_rate, False),
    }
    said = {}
    for key, (a, b, higher_better) in pairs.items():
        if a is None or b is None:
            said[key] = ""
        elif a == b:
            said[key] = "same"
        else:
            said[key] = "better" if (a > b) == higher_better else "worse"
    return said


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()
