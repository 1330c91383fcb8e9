"""DORA's five metrics on plain records: a month computed by hand, and the edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.insights import dora
from bot.insights.dora import ChangeRecord, DeploymentRecord, History, Span


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


NOVEMBER = Span(at(1, 0), at(1, 0, month=12), "November 2026")


def seeded_month() -> History:
    """Proposed, reviewed and deployed changes; one rolled back; one emergency fixing one."""
    changes = [
        ChangeRecord(0, "normal", at(28, month=10), "acme/api"),  # deployed in October
        ChangeRecord(1, "normal", at(2), "acme/api", first_commit_at=at(1, 15)),
        ChangeRecord(2, "standard", at(5, 10)),  # no pull request: from its proposal
        ChangeRecord(3, "normal", at(9), "acme/api", first_commit_at=at(8),
                     rollback_started_at=at(10, 9, 40), rollback_finished_at=at(10, 10)),
        ChangeRecord(4, "high_risk", at(12), "acme/web"),
        ChangeRecord(5, "emergency", at(17, 10), "acme/web", fixes_change_id=4),
        ChangeRecord(6, "normal", at(25)),  # proposed, never deployed
    ]
    deployments = [
        DeploymentRecord(at(30, 12, month=10), 0, "acme/api"),
        DeploymentRecord(at(3, 15), 1, "acme/api"),
        DeploymentRecord(at(5, 14), 2),
        DeploymentRecord(at(10), 3, "acme/api"),
        DeploymentRecord(at(16), 4, "acme/web"),
        DeploymentRecord(at(17), 4, "acme/web"),  # deployed again: this one failed
        DeploymentRecord(at(17, 10, 30), 5, "acme/web"),
        DeploymentRecord(at(20, 12), None, "acme/web"),  # matched no change
    ]
    return History.of(changes, deployments)


def test_a_seeded_month_gives_the_five_figures_computed_by_hand():
    figures = dora.measure(seeded_month(), NOVEMBER)

    # 7 deployments in November (CHG-0's was in October): CHG-1, 2, 3, 4 twice, 5, unmatched.
    assert figures.deployments == 7
    assert figures.per_week == pytest.approx(7 / (30 / 7))
    # Lead times, once per change to its first deployment: CHG-1 48 h (first commit),
    # CHG-2 4 h (proposal), CHG-3 48 h, CHG-4 96 h (proposal), CHG-5 30 min.
    assert sorted(figures.lead_times) == [timedelta(minutes=30), timedelta(hours=4),
                                          timedelta(hours=48), timedelta(hours=48),
                                          timedelta(hours=96)]
    assert figures.lead_time == timedelta(hours=48)
    # Failed: CHG-3 (rolled back) and CHG-4's second deployment (fixed by CHG-5).
    assert figures.change_fail_rate == pytest.approx(2 / 7)
    assert sorted(f.cause for f in figures.failures) == ["emergency CHG-5", "rollback"]
    # Recovered: 40 + 20 min to the rollback's end; 90 min to the emergency's deployment.
    assert sorted(figures.recoveries) == [timedelta(hours=1), timedelta(minutes=90)]
    assert figures.recovery_time == timedelta(minutes=75)
    # Rework: the emergency's one deployment.
    assert figures.rework_rate == pytest.approx(1 / 7)

    assert {k: c and c.name for k, c in dora.clusters(figures).items()} == {
        "lead_time": "high", "deployment_frequency": "high", "change_fail_rate": "low",
        "recovery_time": "high", "rework_rate": None,
    }
    assert dora.values_text(figures) == {
        "lead_time": "2 d",
        "deployment_frequency": "7 deployment(s), 1.6 per week",
        "change_fail_rate": "29% (2 of 7)",
        "recovery_time": "1 h 15 min",
        "rework_rate": "14% (1 of 7)",
    }


def test_a_period_with_nothing_deployed_says_so_rather_than_zero():
    figures = dora.measure(seeded_month(), Span(at(1, month=9), at(30, month=9)))
    assert figures.deployments == 0
    assert figures.lead_time is None and figures.change_fail_rate is None
    assert figures.recovery_time is None and figures.rework_rate is None
    assert dora.values_text(figures)["change_fail_rate"] == "n/a (0 of 0)"
    assert dora.clusters(figures)["deployment_frequency"].name == "low"


def test_a_rollback_before_production_is_not_a_failed_deployment():
    history = History.of(
        [ChangeRecord(1, "normal", at(2), rollback_started_at=at(3), rollback_finished_at=at(4))],
        [DeploymentRecord(at(5), 1)],  # deployed only after the rollback
    )
    assert dora.measure(history, NOVEMBER).failures == ()


def test_a_rollback_still_running_is_a_failure_not_yet_recovered():
    history = History.of([ChangeRecord(1, "normal", at(2), rollback_started_at=at(3, 10))],
                         [DeploymentRecord(at(3), 1)])
    figures = dora.measure(history, NOVEMBER)
    assert figures.change_fail_rate == 1.0
    assert figures.unrecovered == 1 and figures.recovery_time is None
    assert dora.values_text(figures)["recovery_time"] == "n/a (1 not recovered yet)"


def test_rolled_back_and_fixed_counts_once_and_recovers_at_the_first_remedy():
    history = History.of(
        [ChangeRecord(1, "normal", at(2), rollback_started_at=at(3, 11),
                      rollback_finished_at=at(3, 14)),
         ChangeRecord(2, "emergency", at(3, 10), fixes_change_id=1)],
        [DeploymentRecord(at(3), 1), DeploymentRecord(at(3, 12), 2)],
    )
    figures = dora.measure(history, NOVEMBER)
    [failure] = figures.failures
    assert failure.cause == "rollback and emergency CHG-2"
    assert failure.recovery == timedelta(hours=3)  # the emergency, before the rollback ended
    assert figures.change_fail_rate == 0.5 and figures.rework_rate == 0.5


def test_an_emergency_that_names_no_change_or_itself_or_an_undeployed_one_fails_nothing():
    history = History.of(
        [ChangeRecord(1, "emergency", at(3)),
         ChangeRecord(2, "emergency", at(3), fixes_change_id=2),
         ChangeRecord(3, "normal", at(2)),
         ChangeRecord(4, "emergency", at(4), fixes_change_id=3)],
        [DeploymentRecord(at(3, 10), 1), DeploymentRecord(at(3, 11), 2),
         DeploymentRecord(at(5), 3), DeploymentRecord(at(4, 10), 4)],
    )
    figures = dora.measure(history, NOVEMBER)
    assert figures.failures == ()
    assert figures.rework == 3


def test_a_failure_in_the_period_recovered_after_it_keeps_its_recovery():
    history = History.of(
        [ChangeRecord(1, "normal", at(29), rollback_started_at=at(30, 23),
                      rollback_finished_at=at(1, 2, month=12))],
        [DeploymentRecord(at(30, 22), 1)],
    )
    figures = dora.measure(history, NOVEMBER)
    assert figures.recoveries == (timedelta(hours=4),)


def test_a_first_commit_after_the_deployment_counts_as_no_wait():
    history = History.of([ChangeRecord(1, "normal", at(2), first_commit_at=at(4))],
                         [DeploymentRecord(at(3), 1)])
    assert dora.measure(history, NOVEMBER).lead_times == (timedelta(0),)


def test_figures_by_repository_category_and_team():
    history = seeded_month()
    by_repo = dora.measure_by(history, NOVEMBER, "repo")
    assert {g: f.deployments for g, f in by_repo.items()} == {
        "(no repository)": 1, "acme/api": 2, "acme/web": 4}
    assert by_repo["acme/web"].change_fail_rate == pytest.approx(1 / 4)
    by_category = dora.measure_by(history, NOVEMBER, "category")
    assert by_category["emergency"].rework_rate == 1.0
    assert by_category["(no change)"].deployments == 1
    assert set(dora.measure_by(history, NOVEMBER, "team")) == {"(no repository)", "acme"}
    assert set(dora.measure_by(history, NOVEMBER, None)) == {"all"}
    with pytest.raises(ValueError, match="choose one of repo, category, team"):
        dora.measure_by(history, NOVEMBER, "author")


def test_the_trend_against_the_previous_period():
    history = seeded_month()
    month = Span(at(16, 0), at(1, 0, month=12))
    before = month.previous()
    assert before.start == at(1, 0) and before.end == month.start
    trend = dora.trend(dora.measure(history, month), dora.measure(history, before))
    # Later half: CHG-4 x2, CHG-5 (1 failure), unmatched; earlier: CHG-1, 2, 3 (1 failure).
    assert trend == {"lead_time": "worse", "deployment_frequency": "better",
                     "change_fail_rate": "better", "recovery_time": "worse",
                     "rework_rate": "worse"}


def test_durations_as_people_read_them():
    said = [dora.duration_text(timedelta(minutes=m)) for m in (0, 59, 60, 61, 47 * 60, 3000)]
    assert said == ["0 min", "59 min", "1 h", "1 h 1 min", "47 h", "2 d 2 h"]
    assert dora.duration_text(None) == "n/a"


def test_weeks_cut_the_period_from_its_start():
    cuts = dora.weeks(NOVEMBER)
    assert len(cuts) == 5 and cuts[0].start == at(1, 0) and cuts[-1].end == NOVEMBER.end
    assert cuts[-1].days == pytest.approx(2)


@pytest.mark.parametrize(("per_day", "name"), [(3, "elite"), (1, "elite"), (0.5, "high"),
                                               (1 / 7, "high"), (0.1, "medium"), (0.01, "low")])
def test_deployment_frequency_clusters(per_day, name):
    assert dora.frequency_cluster(per_day).name == name


@pytest.mark.parametrize(("hours", "name"), [(2, "elite"), (24, "high"), (100, "high"),
                                             (24 * 8, "medium"), (24 * 40, "low")])
def test_lead_time_clusters(hours, name):
    assert dora.lead_time_cluster(timedelta(hours=hours)).name == name


@pytest.mark.parametrize(("rate", "name"), [(0, "elite"), (0.05, "elite"), (0.08, "high"),
                                            (0.15, "medium"), (0.2, "low")])
def test_fail_rate_clusters(rate, name):
    assert dora.fail_rate_cluster(rate).name == name


def test_recovery_clusters_and_where_they_come_from():
    assert dora.recovery_cluster(timedelta(minutes=59)).name == "elite"
    assert dora.recovery_cluster(timedelta(hours=5)).name == "high"
    assert dora.recovery_cluster(timedelta(days=3)).name == "medium"
    assert dora.recovery_cluster(timedelta(days=30)).name == "low"
    assert str(dora.recovery_cluster(timedelta(minutes=5))) == (
        "elite (less than one hour; Accelerate State of DevOps Report 2023 (DORA))")
    assert dora.CLUSTERS_YEAR == 2023
    assert dora.CLUSTERS_URL == "https://dora.dev/research/2023/dora-report/"


def test_outside_the_reports_bands_the_low_cluster_says_what_the_report_gives():
    """The 2023 low cluster repeats the medium band for throughput: slower is low, and the
    threshold shown quotes the report rather than inventing a band."""
    slow = dora.frequency_cluster(1 / 60)
    assert (slow.name, slow.threshold) == ("low", "less than once per month; the report's "
                                           "low cluster: between once per week and once per "
                                           "month")
    assert dora.frequency_cluster(1.0).threshold == "on demand"
    assert dora.lead_time_cluster(timedelta(days=45)).threshold.endswith(
        "the report's low cluster: between one week and one month")
    assert dora.recovery_cluster(timedelta(days=10)).threshold.endswith(
        "the report's low cluster: between one month and six months")
