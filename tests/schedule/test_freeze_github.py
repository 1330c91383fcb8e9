"""A production deployment GitHub reports inside a freeze: recorded (it happened), flagged
as an exception on the card and in the audit log, like any gate found closed."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.playground.standin.workspace import demo_policy
from bot.schedule.evidence import frozen_deployments
from bot.schedule.policy import Freezes, RecurringFreeze
from tests.fake_github import FakeGitHub
from tests.flows import card_text, click, propose
from tests.github_flows import (
    BEFORE,
    OWNER,
    PR_URL,
    REPO,
    TOKEN,
    add_example_pull,
    audit_events,
    change_row,
    example,
    start,
    webhook,
)
from tests.schedule.packs import exported

# Wednesday 10:00–11:00 UTC: the release train's slot, frozen (inside business hours).
TRAIN = RecurringFreeze(name="Release train", reason="the monthly release", days="wed",
                        start="09:30", end="11:00")


@pytest.fixture
def policy():
    return demo_policy(freezes=Freezes(recurring=[TRAIN]))


@pytest.fixture
async def github():
    async with FakeGitHub(token=TOKEN) as fake:
        add_example_pull(fake)
        fake.add_check_run(OWNER, REPO, BEFORE, "build")
        yield fake


@pytest.fixture
async def bot(db, slack, clock, policy, github):
    harness = await start(db, slack, clock, policy, github)
    yield harness
    await harness.stop()


async def ready_change(bot) -> int:
    change_id = await propose(bot, pr_url=PR_URL)
    await click(bot, "bob", "change_approve", change_id)
    async with bot.ctx.db.session() as session:
        change = await session.get(type(await change_row(bot, change_id)), change_id)
        change.status = "ready"
        change.staging_verified_at = bot.clock.now() - timedelta(hours=1)
        session.add(change)
    return change_id


async def test_a_github_deployment_inside_a_freeze_is_recorded_and_flagged(bot):
    assert bot.clock.now() == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # inside the train
    change_id = await ready_change(bot)
    reply = await webhook(bot, "deployment_status", example("deployment_status"))
    assert reply.status == 200, reply.text
    change = await change_row(bot, change_id)
    assert change.status == "monitoring"
    assert change.deploy_exceptions == [
        "freeze: inside the freeze “Release train” (the monthly release)"]
    [flag] = await audit_events(bot, "deployed_with_gates_closed")
    assert flag.detail["exceptions"] == change.deploy_exceptions
    assert "Freeze: inside the freeze “Release train”" in card_text(bot, change_id)
    assert any("while gates were closed (Freeze: inside the freeze" in m["text"]
               for m in bot.slack.dms("U0ALICE"))

    # An unmatched deployment inside the freeze too: both are in the evidence pack's list.
    stranger = example("deployment_status")
    stranger["deployment"]["id"] += 1
    stranger["deployment"]["sha"] = "0" * 40
    bot.clock.advance(timedelta(minutes=5))
    await webhook(bot, "deployment_status", stranger)
    async with bot.ctx.db.session() as session:
        frozen = await frozen_deployments(session, bot.ctx.policy,
                                          datetime(2026, 11, 25, tzinfo=UTC),
                                          datetime(2026, 11, 26, tzinfo=UTC))
    assert [(f.change, f.deployment.source, f.freeze.name, f.how) for f in frozen] == [
        ("CHG-1", "github", "Release train", "broken"),
        ("unmatched (Codertocat/Hello-World)", "github", "Release train", "broken")]
    packs = await exported(bot, "2026-11-25", "2026-11-25")
    assert packs.markdown_section("Deployments inside a freeze") == [
        "| CHG-1 | 2026-11-25 10:00 UTC | gh:Codertocat | Release train | the monthly release "
        "| broken | GitHub |",
        "| unmatched (Codertocat/Hello-World) | 2026-11-25 10:05 UTC | gh:Codertocat | "
        "Release train | "
        "the monthly release | broken | GitHub |"]
    assert packs.json["summary"]["deployments_inside_freezes_by_rule"] == {
        "broken": 2, "bypassed": 0}
    assert [(r["change"], r["deployed_by"], r["deployments_inside_freezes"])
            for r in packs.csv] == [
        ("CHG-1", "gh:Codertocat", "2026-11-25 10:00:00 by gh:Codertocat via github inside "
         "Release train (the monthly release): broken"),
        ("unmatched (Codertocat/Hello-World)", "gh:Codertocat", "2026-11-25 10:05:00 by "
         "gh:Codertocat via github inside Release train (the monthly release): broken")]
    assert packs.json["deployments_inside_freezes"][1]["change"] == (
        "unmatched (Codertocat/Hello-World)")


async def test_a_github_deployment_after_the_freeze_is_in_order(bot):
    change_id = await ready_change(bot)
    bot.clock.set(datetime(2026, 11, 25, 11, 0, tzinfo=UTC))
    await webhook(bot, "deployment_status", example("deployment_status"))
    assert (await change_row(bot, change_id)).deploy_exceptions == []
