"""Production deployments reported by GitHub (`deployment_status` webhooks).

"Merge to main triggers automated deployment": a successful deployment to one of the
policy's production environments whose commit is a change's PR head or merge commit records that
change's production deploy (method "automated", by whoever triggered it) and starts its
monitoring window. Gates are checked all the same: a deployment that happened with a gate
closed is recorded (it happened) and flagged on the card and in the audit log.

A production deployment that matches no change is kept as an *unmatched deployment*
(`Deployment.change_id` empty) and announced in the changes channel.
"""

from __future__ import annotations

import dataclasses

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.audit_actions import DEPLOYED_TO_PRODUCTION
from bot.change.states import Status, format_change_id
from bot.change.transition import transition
from bot.change.work import Loaded, audit, dm, is_slack_user, lock, refresh_card, thread_note
from bot.context import Context
from bot.deployment.rules import (
    closed_change_deployed,
    deployment_exceptions,
    describe_deploy_exception,
    monitoring_ends_at,
)
from bot.flows import deployment as deployment_flow
from bot.github import pull_requests
from bot.runtime.sweeper import Payload
from bot.slack.outbox import post_once, schedule
from bot.slack.text import slack_date, user
from storage import github_store, repo
from storage.models import Deployment, Reminder


async def on_deployment_status(session: AsyncSession, ctx: Context, payload: dict,
                               delivery: str) -> str | None:
    """Handle one `deployment_status` event; None when it is not a production success."""
    status, deployment = payload["deployment_status"], payload["deployment"]
    environment = status.get("environment") or deployment.get("environment") or ""
    if status.get("state") != "success" or not ctx.policy.github.is_production(environment):
        return None
    github_id = int(deployment["id"])
    if await github_store.deployment(session, github_id) is not None:
        return f"deployment {github_id} is already recorded"
    repo_name, sha = payload["repository"]["full_name"], deployment["sha"]
    login = (deployment.get("creator") or status.get("creator") or payload.get("sender")
             or {}).get("login") or "ghost"
    link = await github_store.user_link(session, login)
    by = link.slack_user_id if link is not None else f"gh:{login}"
    now = ctx.clock.now()
    change = await github_store.change_for_commit(session, repo_name, sha)
    session.add(Deployment(github_deployment_id=github_id, repo=repo_name,
                           environment=environment, sha=sha, creator=login,
                           change_id=change.id if change else None, at=now))
    if change is None:
        await repo.add_audit(session, at=now, actor=f"gh:{login}", action="unmatched_deployment",
                       detail={"deployment_id": github_id, "repo": repo_name, "sha": sha,
                               "environment": environment, "creator": login})
        await schedule(session, ctx, key=f"unmatched-deployment:{github_id}",
                       kind="channel_note", payload={"text": (
                           f":warning: *Unmatched production deployment*: `{repo_name}` "
                           f"commit `{pull_requests.short(sha)}` was deployed to {environment} "
                           f"by {user(by)}, and no change links that commit. Propose one "
                           "with `/change new` if it should have been reviewed.")})
        return "unmatched deployment recorded"
    loaded = await lock(session, change.id or 0, now)
    assert loaded is not None
    await record_deploy(loaded, ctx, by=by, login=login, sha=sha, environment=environment,
                        github_id=github_id)
    return f"production deployment of {format_change_id(change.id or 0)} recorded"


async def record_deploy(loaded: Loaded, ctx: Context, *, by: str, login: str, sha: str,
                        environment: str, github_id: int) -> None:
    change, facts = loaded.change, loaded.facts
    session, now = loaded.session, ctx.clock.now()
    cid = format_change_id(change.id or 0)
    detail = {"method": "automated", "by": by, "login": login, "sha": sha,
              "environment": environment, "deployment_id": github_id}
    if facts.status in (Status.monitoring, Status.completed) or change.status in (
        Status.cancelled.value, Status.rolled_back.value
    ):
        # Deployed again, or a change that was closed: recorded and flagged, status kept.
        await audit(session, ctx, change, by, "deployed_again", **detail)
        if change.status in (Status.cancelled.value, Status.rolled_back.value):
            flag = closed_change_deployed(facts)
            change.deploy_exceptions = [*change.deploy_exceptions, flag]
            await audit(session, ctx, change, "changebot", "deployed_with_gates_closed",
                        exceptions=[flag], **detail)
            said = describe_deploy_exception(flag)
            await thread_note(session, ctx, change,
                              f":rotating_light: {said[:1].upper()}{said[1:]}.")
        await refresh_card(session, ctx, change)
        return
    exceptions = deployment_exceptions(facts, ctx.policy, now)
    change.deployed_at, change.deployed_by, change.deploy_method = now, by, "automated"
    ends = monitoring_ends_at(dataclasses.replace(facts, deployed_at=now), ctx.policy) or now
    change.monitoring_ends_at = ends
    # It happened: recorded whatever the lifecycle says, what it skipped flagged below.
    await transition(session, ctx, change, Status.monitoring, actor=by,
                     action=DEPLOYED_TO_PRODUCTION, reported=True, **detail)
    note = (f"Deployed to {environment} by GitHub (`{pull_requests.short(sha)}`, triggered "
            f"by {user(by)}): monitoring until {slack_date(ends)}.")
    if exceptions:
        change.deploy_exceptions = [*change.deploy_exceptions, *exceptions]
        await audit(session, ctx, change, "changebot", "deployed_with_gates_closed",
                    exceptions=exceptions, **detail)
        said = "; ".join(describe_deploy_exception(e) for e in exceptions)
        note += "\n:rotating_light: *Deployed with gates closed*: " + said
        if is_slack_user(change.author_id):
            await dm(session, ctx, change, change.author_id,
                     f":rotating_light: *{cid}* was deployed to production by GitHub while "
                     f"gates were closed ({said}). It is recorded as an "
                     "exception on the change.", key=f"deploy-exception:{change.id}:{github_id}")
    await thread_note(session, ctx, change, note)
    await deployment_flow.deployed(loaded, ctx, by=by, before=facts)


async def post_channel_note(ctx: Context, reminder: Reminder) -> None:
    """A message in the changes channel that belongs to no change (unmatched deployments)."""
    note = ChannelNotePayload.model_validate(reminder.payload)
    await post_once(ctx, reminder, channel=note.channel or ctx.policy.channels.changes or "",
                    text=note.text)


class ChannelNotePayload(Payload):
    """`channel_note`: a note in a channel (the changes channel unless told)."""

    text: str
    channel: str | None = None
