"""The deploy gate of a commit no change knows yet: GitHub is asked which pull request the
commit belongs to (`GET /repos/{owner}/{repo}/commits/{sha}/pulls`), off the request path,
as a reminder row the sweeper retries while GitHub fails.

A deployment often waits on the rule before Changebot has heard of the merge (the
`pull_request` webhook and the workflow on the default branch race). So:

- the commit is the head or merge commit of a pull request a change links, by GitHub's
  word, but not yet by the change's record: a status report "waiting for the pull request",
  and the pull request is read again; the job is matched to the change, and answered, as
  soon as its head or merge commit is the job's (bot.github.merge_gate.recheck);
- a pull request no change links yet: a status report, and the same match once one does;
- another commit of a change's pull request: matched, and rejected as not the approved one;
- GitHub knows no pull request of the commit: answered as the policy says
  (`github.deploy_without_change`).
"""

from __future__ import annotations

from pydantic import Field

from bot.change.states import format_change_id
from bot.change.work import lock, refresh_card
from bot.context import Context
from bot.github import deploy_gate, gate_rules, pull_requests
from bot.github.pull_requests import SYNC
from bot.runtime.sweeper import Payload, Skip
from storage import github_store
from storage.models import Reminder

LOOKUP = deploy_gate.LOOKUP


async def look_up(ctx: Context, reminder: Reminder) -> None:
    data = LookupPayload.model_validate(reminder.payload)
    async with ctx.db.session() as session:
        gate = await github_store.deploy_gate(session, data.gate)
    if gate is None or gate.state != "waiting" or gate.change_id is not None:
        raise Skip("the job was answered or matched since")
    if ctx.github is None or not ctx.github.app_mode:
        raise Skip("the bot is no longer connected as a GitHub App")
    pulls = await ctx.github.pulls_of_commit(gate.repo, gate.sha)  # fails: tried again
    async with ctx.db.session() as session:
        gate = await github_store.deploy_gate(session, data.gate, lock=True)
        if gate is None or gate.state != "waiting" or gate.change_id is not None:
            return
        tips = {p.number for p in pulls if gate.sha in (p.head_sha, p.merge_sha)}
        numbers = list(dict.fromkeys([p.number for p in pulls] + data.pulls))
        for number in numbers:
            linking = await github_store.changes_linking(session, gate.repo, number,
                                                         include_finished=True)
            if not linking:
                continue
            loaded = await lock(session, linking[-1].id or 0, ctx.clock.now())
            assert loaded is not None
            change = loaded.change
            if number in tips and gate.sha not in (change.head_sha, change.merge_sha):
                await deploy_gate.report(
                    session, ctx, gate,
                    gate_rules.waiting_for_pull(gate.sha, number, linked=True), None)
                await pull_requests.schedule_sync(
                    session, ctx, change, key=f"{SYNC}:{change.id}:gate{gate.id}",
                    why=f"{format_change_id(change.id or 0)}: a deployment waits for "
                        f"{gate.sha[:7]}")
                break
            await deploy_gate.attach(loaded, ctx, gate)
            await refresh_card(session, ctx, change)
            break
        else:
            if numbers:
                await deploy_gate.report(
                    session, ctx, gate,
                    gate_rules.waiting_for_pull(gate.sha, numbers[0], linked=False), None)
            else:
                await deploy_gate.decided(session, ctx, gate,
                                          gate_rules.no_change_answer(ctx.policy, gate.sha),
                                          None)
    ctx.sweeper.kick()


class LookupPayload(Payload):
    """A waiting job whose commit no change knows, and the pull requests its webhook named."""

    gate: int
    pulls: list[int] = Field(default_factory=list)
