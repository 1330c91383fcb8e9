"""Two replicas on one database re-check one new head at once: GitHub gets one `Changebot`
check run for the commit, which both then update."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.change.work import GATES_RECHECK
from storage import reminder_store
from storage.models import CheckRunClaim
from tests.flows import propose
from tests.github.gates_harness import app_github, start_app_bot
from tests.github_flows import HEAD, OWNER, PR_URL, REPO, example, pending, webhook


@pytest.fixture
async def replicas(db, slack, clock, policy):
    fake = await app_github(clock)
    one = await start_app_bot(db, slack, clock, policy, fake)
    two = await start_app_bot(db, slack, clock, policy, fake)
    yield one, two, fake
    fake.release()
    await one.stop()
    await two.stop()
    await fake.stop()


async def test_two_replicas_rechecking_a_new_head_create_one_check_run(replicas):
    one, two, fake = replicas
    change_id = await propose(one, pr_url=PR_URL)
    await one.sweep()
    fake.set_head(OWNER, REPO, 2, HEAD)
    fake.add_check_run(OWNER, REPO, HEAD, "build")
    # Replica one hears of the push; its re-check of the new head is held at GitHub while
    # it creates the check run.
    fake.hold("POST", r"/check-runs$")
    reply = await webhook(one, "pull_request", example("pull_request/synchronize"),
                          settle=False)
    assert reply.status == 200, reply.text
    await asyncio.wait_for(fake.holding.wait(), timeout=10)

    # Meanwhile replica two re-checks the same change (a card refresh of its own).
    async with two.ctx.db.session() as session:
        now = two.clock.now()
        await reminder_store.schedule(session, key=f"{GATES_RECHECK}:{change_id}:two",
                                      kind=GATES_RECHECK, change_id=change_id, due_at=now,
                                      now=now)
    await two.sweep()
    assert fake.created_check_runs(OWNER, REPO, HEAD, "Changebot") == []

    fake.release()
    await one.settle()
    [run_id] = fake.created_check_runs(OWNER, REPO, HEAD, "Changebot")

    # Replica two's re-check waited for the run's id, and now updates that run.
    one.clock.advance(timedelta(seconds=6))
    await two.sweep()
    await one.sweep()
    assert fake.created_check_runs(OWNER, REPO, HEAD, "Changebot") == [run_id]
    run = fake.check_runs(OWNER, REPO, HEAD)["Changebot"]
    assert (run["id"], run["status"]) == (run_id, "in_progress")
    assert await pending(one, GATES_RECHECK) == []


async def test_a_claim_left_by_a_stopped_replica_is_taken_over_without_a_second_run(
        replicas):
    one, _two, fake = replicas
    change_id = await propose(one, pr_url=PR_URL)
    await one.sweep()
    fake.set_head(OWNER, REPO, 2, HEAD)
    fake.add_check_run(OWNER, REPO, HEAD, "build")
    # A replica claimed the new head, created its check run, and stopped before noting it.
    left = fake.add_check_run(OWNER, REPO, HEAD, "Changebot", status="in_progress")
    async with one.ctx.db.session() as session:
        session.add(CheckRunClaim(repo=f"{OWNER}/{REPO}".lower(), sha=HEAD, name="Changebot",
                                  claim="stopped", claimed_at=one.clock.now()))
    await webhook(one, "pull_request", example("pull_request/synchronize"))
    assert await pending(one, GATES_RECHECK)  # waits for the claim's run id
    assert "output" not in fake.check_runs(OWNER, REPO, HEAD)["Changebot"]

    one.clock.advance(timedelta(seconds=31))  # past the claim's lease
    await one.sweep()
    assert fake.created_check_runs(OWNER, REPO, HEAD, "Changebot") == []
    run = fake.check_runs(OWNER, REPO, HEAD)["Changebot"]
    assert run["id"] == left["id"]
    assert run["output"]["title"] == f"CHG-{change_id}: 0 of 1 approval"
    async with one.ctx.db.session() as session:
        claim = await session.get(CheckRunClaim, (f"{OWNER}/{REPO}".lower(), HEAD, "Changebot"))
    assert claim is not None and claim.check_run_id == left["id"]
