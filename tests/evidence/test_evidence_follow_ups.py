"""The evidence pack marks what the follow-ups had to chase, through real Slack requests:
an emergency left unapproved and without its retrospective for days (escalated again every
`windows.escalation_repeat`), and a rollback that ran past `windows.rollback`."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from bot.evidence.export import export
from bot.evidence.period import parse_period
from tests import flows
from tests.evidence_history import at, declare_emergency, modal, wait_until
from tests.evidence_history import policy as history_policy

NOVEMBER = ("2026-11-01", "2026-11-30")


@pytest.fixture
def policy():
    return history_policy()


async def broken(bot) -> dict[str, str]:
    out = io.StringIO()
    await export(bot.ctx.db, bot.ctx.policy, parse_period(*NOVEMBER), "json", out,
                 now=bot.clock.now())
    [record] = json.loads(out.getvalue())["changes"]
    return {e["rule"]: e["detail"] for e in record["exceptions"] if e["kind"] == "broken"}


async def test_an_emergency_chased_for_days_says_how_often_and_how_late(bot):
    await wait_until(bot, at(23, 2))
    change_id = await declare_emergency(bot, "alice", {
        "impact": "Card payments failing.", "description": "Hotfix: null amounts",
        "rollback_plan": "Revert.", "pr_url": None, "involved": []})
    await modal(bot, "alice", "change_deploy", change_id, at(23, 2, 10),
                {"method": "rolling", "notes": None})
    # Nobody approves and nobody holds the retrospective for three days: the tech leads are
    # told at 4 h, then every 24 h; the retrospective is escalated at its due time and daily.
    for hours in range(1, 73):
        await wait_until(bot, at(23, 2, 10) + timedelta(hours=hours))
    found = await broken(bot)
    assert found["approvals"] == (
        "emergency change still not approved 72 h after deployment (1 approval needed), "
        "after 3 escalations to the tech leads (the last 52 h after deployment)")
    assert found["retrospective"] == (
        "retrospective overdue since 2026-11-24 02:10 UTC, after 3 escalations to the tech "
        "leads (the last 48 h after it was due)")


async def test_a_rollback_past_its_target_is_broken(bot):
    await wait_until(bot, at(24, 10))
    change_id = await flows.approved(bot)
    await flows.staged(bot, change_id)
    await modal(bot, "alice", "change_deploy", change_id, at(24, 11),
                {"method": "rolling", "notes": None})
    await modal(bot, "alice", "change_rollback", change_id, at(24, 11, 5), {
        "trigger": "errors", "method": "previous_image", "notes": "5xx on checkout."})
    await wait_until(bot, at(24, 11, 50))
    await flows.click(bot, "alice", "change_rollback_finished", change_id)
    assert (await broken(bot))["rollback"] == "rollback took 45 min, over the 30 min target"
