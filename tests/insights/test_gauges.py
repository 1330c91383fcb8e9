"""`GET /metrics` exposes how change is going, read from the database at scrape time; the
Grafana dashboard in docs/grafana uses only series that are exposed."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bot.overview.desk_refresh import COALESCE as DESK_SLOT
from tests.flows import click, deployed, fill, propose, staged
from tests.insights.seed import seed_month

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "changebot.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",), "summary": ("", "_sum", "_count"), "unknown": ("",)}


async def scrape(bot) -> dict[tuple[str, tuple], float]:
    reply = await bot.post_get("/metrics")
    assert reply.status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def exposed_names(text: str) -> set[str]:
    """Every series name /metrics offers, sampled yet or not (a labelled counter with no
    sample so far still names its series)."""
    return {family.name + suffix for family in text_string_to_metric_families(text)
            for suffix in SUFFIXES[family.type]}


def value(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_the_seeded_month_as_prometheus_series(bot):
    await seed_month(bot.ctx.db)
    bot.clock.set(bot.clock.now().replace(year=2026, month=12, day=1))
    samples = await scrape(bot)

    assert value(samples, "changebot_changes", status="completed", category="normal") == 2
    assert value(samples, "changebot_open_changes", category="normal") == 1
    assert value(samples, "changebot_production_deployments_total", category="normal") == 3
    assert value(samples, "changebot_production_deployments_total", category="high_risk") == 2
    assert value(samples, "changebot_production_deployments_total", category="none") == 1
    assert value(samples, "changebot_failed_deployments_total", category="normal") == 1
    assert value(samples, "changebot_failed_deployments_total", category="high_risk") == 1
    assert value(samples, "changebot_rollbacks_total", category="normal") == 1
    # Lead times: 51 h (October), 48 h, 4 h, 48 h, 96 h, 30 min.
    hours = 3600.0
    assert value(samples, "changebot_change_lead_time_seconds_count") == 6
    assert value(samples, "changebot_change_lead_time_seconds_sum") == (51 + 48 + 4 + 48 + 96
                                                                        + 0.5) * hours
    assert value(samples, "changebot_change_lead_time_seconds_bucket", le="3600.0") == 1
    assert value(samples, "changebot_change_lead_time_seconds_bucket", le="172800.0") == 4
    assert value(samples, "changebot_change_lead_time_seconds_bucket", le="+Inf") == 6
    assert value(samples, "changebot_overdue", item="verification") == 0


async def test_overdue_work_and_waiting_reminders_and_the_cached_snapshot(bot):
    change_id = await propose(bot, "alice")
    await click(bot, "bob", "change_approve", change_id)
    await staged(bot, change_id)
    await deployed(bot, change_id)
    bot.clock.advance(DESK_SLOT)  # the desks of the people concerned are republished
    await bot.sweep()
    samples = await scrape(bot)
    assert value(samples, "changebot_changes", status="monitoring", category="normal") == 1
    assert value(samples, "changebot_overdue", item="verification") == 0
    assert value(samples, "changebot_reminders_pending", kind="monitoring_ended") == 1
    assert value(samples, "changebot_oldest_due_reminder_age_seconds") == 0

    # The monitoring window (30 min) ends, the sweeper has not run: overdue, and waiting.
    bot.clock.advance(timedelta(minutes=45) - DESK_SLOT)
    samples = await scrape(bot)
    assert value(samples, "changebot_overdue", item="verification") == 1
    assert value(samples, "changebot_oldest_due_reminder_age_seconds") == 15 * 60

    # Rolled back: within the 30 s the snapshot lasts, a scrape shows the last one.
    await click(bot, "alice", "change_rollback", change_id)
    await fill(bot, "alice", {"trigger": "errors", "method": "revert", "notes": "500s"})
    bot.clock.advance(timedelta(seconds=10))
    assert value(await scrape(bot), "changebot_rollbacks_total", category="normal") is None
    bot.clock.advance(timedelta(seconds=30))
    samples = await scrape(bot)
    assert value(samples, "changebot_rollbacks_total", category="normal") == 1
    assert value(samples, "changebot_failed_deployments_total", category="normal") == 1
    assert value(samples, "changebot_overdue", item="verification") == 0


async def test_every_series_the_grafana_dashboard_uses_is_exposed(bot):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    expressions = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for e in expressions for name in re.findall(r"\bchangebot_[a-z0-9_]+", e)}
    assert len(expressions) >= 10 and "changebot_change_lead_time_seconds_bucket" in used

    text = (await bot.post_get("/metrics")).text  # an empty database still names them all
    missing = used - exposed_names(text)
    assert not missing, f"the dashboard uses series /metrics does not expose: {missing}"
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"


async def test_a_snapshot_that_cannot_be_read_keeps_the_last_one_and_counts_an_error(bot):
    await seed_month(bot.ctx.db)
    before = await scrape(bot)
    assert value(before, "changebot_production_deployments_total", category="normal") == 3

    async with bot.ctx.db.engine.begin() as conn:
        await conn.execute(text("DROP TABLE reminders"))
    bot.clock.advance(timedelta(minutes=1))
    reply = await bot.post_get("/metrics")
    assert reply.status == 200
    after = await scrape(bot)
    assert value(after, "changebot_production_deployments_total", category="normal") == 3
    assert value(after, "changebot_errors_total", where="change gauges") == 2  # two scrapes
