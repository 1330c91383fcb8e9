"""The deploy gate: GitHub's custom deployment protection rule, answered by the App.

A `deployment_protection_rule` webhook (action `requested`) says a GitHub Actions job waits
to deploy a commit to an environment. For production, the change is found by the commit
(head or merge) or the pull request, and the production gates are evaluated for that exact
commit (bot.github.gate_rules) — counting only the approvals given for the pull request's
head (`bound_facts`). A commit no change knows yet is looked up on GitHub first
(bot.github.gate_lookup). The job is recorded as a `DeployGate` row in the same
transaction, and every answer is a reminder row the sweeper sends:

- all gates met: approved, with a comment naming the change and its approvals;
- not yet: a status report of what is missing (only when it changed, 10 at most), and the
  job keeps waiting; each change of state re-evaluates it (`recheck`, scheduled with every
  card refresh), so the approval goes out as soon as the last gate opens;
- the change cannot ship, or the commit is not the one approved: rejected, with the reason.

The decision is taken once, with the row locked (waiting -> approved/rejected), and its
answer is one reminder with a unique key: sent exactly once across replicas and restarts,
retried while GitHub fails. A retry that finds GitHub already took the answer (a crash after
the POST) counts it as sent.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.facts import ChangeFacts
from bot.change.rows import current
from bot.change.states import format_change_id
from bot.change.work import Loaded, audit, lock, refresh_card, thread_note
from bot.context import Context
from bot.github import gate_rules
from bot.github.client import GitHubError
from bot.github.gate_rules import REPORT_LIMIT, DeployAnswer
from bot.policy import Policy
from bot.runtime.sweeper import Payload, Skip
from bot.slack import outbox
from storage import github_store, repo
from storage.models import Change, DeployGate, Reminder

log = logging.getLogger(__name__)

ANSWER = "github_gate_answer"
RECHECK_AT = "github_gates_at"
LOOKUP = "github_gate_lookup"
_RUN = re.compile(r"/actions/runs/(\d+)/deployment_protection_rule/?$")


class Unknown(Exception):  # noqa: N818 - an outcome: answered 202, nothing decided
    """A webhook for an installation or repository the bot does not serve."""


def run_id_of(callback_url: str) -> int:
    found = _RUN.search(callback_url or "")
    if found is None:
        raise ValueError(f"deployment_callback_url {callback_url!r} names no workflow run")
    return int(found.group(1))


async def on_protection_rule(session: AsyncSession, ctx: Context, payload: dict,
                             delivery: str) -> str | None:
    if payload.get("action") != "requested":
        return None
    repository = payload["repository"]
    repo_name = repository["full_name"]
    deployment: dict[str, Any] = payload.get("deployment") or {}
    environment = payload.get("environment") or deployment["environment"]
    sha = deployment.get("sha") or payload["sha"]
    run_id = run_id_of(payload["deployment_callback_url"])
    installation = (payload.get("installation") or {}).get("id")
    if ctx.github is None or not ctx.github.app_mode:
        raise Unknown("the bot is not connected as a GitHub App: it cannot answer protection "
                      "rules (set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY)")
    if not isinstance(installation, int):
        raise Unknown(f"no installation in the {repo_name} protection rule: not ours to answer")
    production = ctx.policy.github.is_production(environment)
    if production and not await github_store.knows_repo(session, repo_name):
        raise Unknown(f"{repo_name} is a repository no change ever linked")
    if not production and not ctx.policy.github.approve_other_environments:
        return None
    ctx.github.remember_installation(repo_name, installation)
    now = ctx.clock.now()
    gate = await github_store.add_deploy_gate(session, DeployGate(
        repo=repo_name, run_id=run_id, environment=environment, sha=sha,
        ref=deployment.get("ref"), installation_id=installation, created_at=now,
        run_url=f"{repository.get('html_url') or ''}/actions/runs/{run_id}"))
    if gate is None:
        return f"run {run_id} ({environment}) is already being answered"
    if not production:
        await decided(session, ctx, gate, gate_rules.not_production_answer(environment), None)
        return f"run {run_id}: {environment} is not production, approved"
    change = await github_store.change_for_commit(session, repo_name, sha)
    if change is None:
        # Not a commit any change knows (yet): GitHub is asked which pull request it is of,
        # off the request path (bot.github.gate_lookup).
        pulls = [int(p["number"]) for p in payload.get("pull_requests") or []]
        await outbox.schedule(
            session, ctx, key=f"{LOOKUP}:{gate.id}", kind=LOOKUP, due_at=now,
            payload={"gate": gate.id, "pulls": pulls})
        return f"run {run_id}: looking up the pull request of {sha[:7]}"
    loaded = await lock(session, change.id or 0, now)
    assert loaded is not None
    state = await attach(loaded, ctx, gate)
    await refresh_card(session, ctx, change)
    return f"run {run_id}: {format_change_id(change.id or 0)} {state}"


async def attach(loaded: Loaded, ctx: Context, gate: DeployGate) -> str:
    """The waiting job is the (locked) change's: on its record and in its thread, then
    answered (bot.github.deploy_gate.decide). Returns the gate's state."""
    change = loaded.change
    gate.change_id = change.id
    loaded.session.add(gate)
    cid = format_change_id(change.id or 0)
    await audit(loaded.session, ctx, change, "github", "deploy_gate_requested",
                run_id=gate.run_id, environment=gate.environment, sha=gate.sha,
                run_url=gate.run_url)
    await thread_note(loaded.session, ctx, change,
                      f":hourglass_flowing_sand: GitHub Actions is waiting to deploy {cid} to "
                      f"{gate.environment} (<{gate.run_url}|run {gate.run_id}>), commit "
                      f"`{gate.sha[:7]}`.")
    return await decide(loaded, ctx, gate)


def bound_facts(loaded: Loaded, policy: Policy) -> ChangeFacts:
    """What the gates read: only the approvals and security decisions given for the pull
    request's head commit — the commit that merges, and whose merge commit deploys — unless
    the policy keeps approvals across pushes (`github.reset_approvals_on_push = false`)."""
    head = loaded.change.head_sha
    if not head or not policy.github.reset_approvals_on_push:
        return loaded.facts
    return loaded.facts_at(head)


async def decide(loaded: Loaded, ctx: Context, gate: DeployGate) -> str:
    """Evaluate the production gates for the job's commit and answer it (durably): the
    decision once, a status report when what is missing changed. Returns the gate's state."""
    change = loaded.change
    bound = change.head_sha if ctx.policy.github.reset_approvals_on_push else None
    approvers = sorted({a.github_login or f"@{a.user_id}"
                        for a in current(loaded.approvals, change, "peer", bound)
                        if a.decision == "approved" and (a.user_id or a.github_login)})
    answer = gate_rules.deploy_answer(
        bound_facts(loaded, ctx.policy), ctx.policy, ctx.clock.now(),
        cid=format_change_id(change.id or 0),
        sha=gate.sha, head_sha=change.head_sha, merge_sha=change.merge_sha,
        approvers=approvers)
    if answer.state is not None:
        await decided(loaded.session, ctx, gate, answer, change)
        return answer.state
    if answer.recheck_at is not None:
        await outbox.schedule(
            loaded.session, ctx, key=f"{RECHECK_AT}:{change.id}:{answer.recheck_at.isoformat()}",
            kind=RECHECK_AT, change_id=change.id, due_at=answer.recheck_at)
    await report(loaded.session, ctx, gate, answer.comment, change)
    return gate.state


async def report(session: AsyncSession, ctx: Context, gate: DeployGate, comment: str,
                 change: Change | None) -> None:
    """A status report (the job keeps waiting): only when what it says changed, and no more
    than GitHub takes per deployment."""
    if comment == gate.last_report:
        return
    if gate.reports >= REPORT_LIMIT:
        log.info("run %s: GitHub's %d status reports are spent; %s", gate.run_id,
                 REPORT_LIMIT, comment)
        return
    gate.reports += 1
    gate.last_report = comment
    session.add(gate)
    detail = {"run_id": gate.run_id, "environment": gate.environment, "sha": gate.sha,
              "report": comment, "reports": gate.reports}
    if change is None:
        await repo.add_audit(session, at=ctx.clock.now(), actor="changebot",
                             action="deploy_gate_waiting", detail={"repo": gate.repo, **detail})
    else:
        await audit(session, ctx, change, "changebot", "deploy_gate_waiting", **detail)
    await _schedule_answer(session, ctx, gate, None, comment,
                           key=f"{ANSWER}:{gate.id}:report:{gate.reports}")


async def decided(session: AsyncSession, ctx: Context, gate: DeployGate,
                   answer: DeployAnswer, change: Change | None) -> None:
    assert answer.state is not None
    now = ctx.clock.now()
    gate.state, gate.reason, gate.decided_at = answer.state, answer.comment, now
    session.add(gate)
    detail = {"run_id": gate.run_id, "environment": gate.environment, "sha": gate.sha,
              "repo": gate.repo, "comment": answer.comment, "run_url": gate.run_url}
    action = f"deploy_gate_{answer.state}"
    if change is None:
        await repo.add_audit(session, at=now, actor="changebot", action=action, detail=detail)
    else:
        await audit(session, ctx, change, "changebot", action, bypassed=list(answer.bypassed),
                    **detail)
        cid = format_change_id(change.id or 0)
        run = f"<{gate.run_url}|run {gate.run_id}>"
        if answer.state == "approved":
            text = (f":white_check_mark: GitHub Actions may deploy {cid} to {gate.environment} "
                    f"({run}): {answer.comment}")
        else:
            text = (f":no_entry: GitHub Actions' deployment of {cid} to {gate.environment} "
                    f"({run}) was rejected: {answer.comment}")
        await thread_note(session, ctx, change, text)
        await refresh_card(session, ctx, change)
    await _schedule_answer(session, ctx, gate, answer.state, answer.comment,
                           key=f"{ANSWER}:{gate.id}:final")


async def _schedule_answer(session: AsyncSession, ctx: Context, gate: DeployGate,
                           state: str | None, comment: str, *, key: str) -> None:
    await session.flush()
    await outbox.schedule(session, ctx, key=key, kind=ANSWER, change_id=gate.change_id,
                          payload={"gate": gate.id, "state": state, "comment": comment})


async def send_answer(ctx: Context, reminder: Reminder) -> None:
    """Post one answer to GitHub (the sweeper retries it while GitHub fails)."""
    answer = AnswerPayload.model_validate(reminder.payload)
    async with ctx.db.session() as session:
        gate = await github_store.deploy_gate(session, answer.gate)
    if gate is None:
        raise Skip("the waiting job is not recorded")
    state = answer.state
    if state is None and gate.state != "waiting":
        raise Skip("decided since: a status report would be refused")
    if ctx.github is None or not ctx.github.app_mode:
        raise Skip("the bot is no longer connected as a GitHub App")
    if gate.installation_id is not None:
        ctx.github.remember_installation(gate.repo, gate.installation_id)
    try:
        await ctx.github.answer_protection_rule(gate.repo, gate.run_id, gate.environment,
                                                state, answer.comment)
    except GitHubError as exc:
        if exc.status == 422 and reminder.attempts > 1:
            # An earlier attempt got through before we could mark it: GitHub has it.
            log.info("run %s: GitHub already has the answer (%s)", gate.run_id, exc.message)
            return
        if exc.status == 422 and state is None:
            raise Skip(f"GitHub refused the status report: {exc.message}") from exc
        raise


async def recheck_at(ctx: Context, reminder: Reminder) -> None:
    """Time opened a gate (business hours): evaluate the change's waiting jobs again."""
    async with ctx.db.session() as session:
        loaded = await lock(session, reminder.change_id or 0, ctx.clock.now())
        if loaded is None:
            raise Skip("no such change")
        for gate in await github_store.waiting_deploy_gates(session, loaded.change.id or 0):
            await decide(loaded, ctx, gate)
        await refresh_card(session, ctx, loaded.change)
    ctx.sweeper.kick()


class AnswerPayload(Payload):
    """The deploy gate's answer to send to GitHub."""

    gate: int
    state: str | None = None
    comment: str
