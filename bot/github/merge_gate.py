"""The merge gate: the `Changebot` check run (App mode) or commit status (token mode) on
the linked pull request's head commit, and the re-evaluation of the deploy gate.

Every card refresh schedules `recheck` (bot.change.work.refresh_card): the card is refreshed
after every change of state of a change, in every flow, so this is the one place that sees
them all. It runs off the request path as a reminder row: it answers the change's waiting
deployment jobs (bot.github.deploy_gate.decide), then writes the check when what it says
changed — created on each new head commit, updated in place otherwise. Two replicas
re-checking one new head at once create one check run: the first to claim the commit's
`check_run_claims` row creates it, the other waits for its id and updates it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from bot.change.states import format_change_id
from bot.change.work import lock
from bot.context import Context
from bot.github import deploy_gate, gate_rules
from bot.github.client import parse_pr_url
from bot.github.gate_rules import CHECK_NAME, MergeGate
from bot.runtime.sweeper import NotYet, Payload, Skip
from storage import github_store
from storage.models import MergeGate as MergeGateRow
from storage.models import Reminder

log = logging.getLogger(__name__)

# A claim to create a check run that got no run id within this long was left by a process
# that stopped: another takes it over (after looking for the run it may have created).
CLAIM_LEASE = timedelta(seconds=30)

NO_CHANGE = "github_no_change"
_CHECK = {"pending": ("in_progress", None), "success": ("completed", "success"),
          "failure": ("completed", "failure"), "neutral": ("completed", "neutral")}
# A commit status has no "neutral": a pull request without a change may merge.
_STATUS = {"pending": "pending", "success": "success", "failure": "failure",
           "neutral": "success"}


async def recheck(ctx: Context, reminder: Reminder) -> None:
    change_id = reminder.change_id or 0
    async with ctx.db.session() as session:
        loaded = await lock(session, change_id, ctx.clock.now())
        if loaded is None:
            raise Skip("no such change")
        change = loaded.change
        # Jobs that waited for this change's head or merge commit to be known (gate_lookup).
        shas = [sha for sha in (change.head_sha, change.merge_sha) if sha]
        matched = (await github_store.unmatched_deploy_gates(session, change.pr_repo, shas)
                   if change.pr_repo and shas else [])
        for gate in matched:
            await deploy_gate.attach(loaded, ctx, gate)
        for gate in await github_store.waiting_deploy_gates(session, change_id):
            if gate not in matched:
                await deploy_gate.decide(loaded, ctx, gate)
        head, want = change.head_sha, None
        if change.pr_url and head and ctx.github is not None:
            want = gate_rules.merge_gate(deploy_gate.bound_facts(loaded, ctx.policy),
                                         ctx.policy, ctx.clock.now(),
                                         format_change_id(change_id))
        current = await github_store.merge_gate(session, change_id)
        card = (change.card_channel, change.card_ts)
    ctx.sweeper.kick()
    if want is None or head is None:
        return
    if current is not None and (current.sha, current.state, current.text) == (
            head, want.state, want.text):
        return
    try:
        full_name = parse_pr_url(change.pr_url or "").full_name
    except ValueError as exc:
        raise Skip(str(exc)) from exc
    run_id = await publish(ctx, full_name, head, want, await _card_link(ctx, *card))
    async with ctx.db.session() as session:
        row = await github_store.merge_gate(session, change_id) or MergeGateRow(
            change_id=change_id, sha=head, state=want.state, text=want.text,
            updated_at=ctx.clock.now())
        row.sha, row.state, row.text, row.check_run_id = head, want.state, want.text, run_id
        row.updated_at = ctx.clock.now()
        session.add(row)


async def publish(ctx: Context, full_name: str, sha: str, gate: MergeGate,
                  details_url: str | None) -> int | None:
    """Write the check (App mode; returns its id) or the commit status (token mode)."""
    assert ctx.github is not None
    if not ctx.github.app_mode:
        await ctx.github.set_status(full_name, sha, _STATUS[gate.state], gate.text,
                                    details_url, CHECK_NAME)
        return None
    status, conclusion = _CHECK[gate.state]
    summary = gate.text + (f"\n\n[Open the change in Slack]({details_url})"
                           if details_url else "")
    claim = uuid.uuid4().hex
    async with ctx.db.session() as session:
        now = ctx.clock.now()
        claimed, run_id = await github_store.claim_check_run(
            session, full_name, sha, CHECK_NAME, claim=claim, now=now,
            stale_before=now - CLAIM_LEASE)
    if not claimed and run_id is None:
        raise NotYet(f"another process is creating the {CHECK_NAME} check run of {sha[:7]}")
    if claimed:  # a run an unfinished attempt created is updated, not created again
        run_id = await ctx.github.find_check_run(full_name, sha, CHECK_NAME)
    run_id = await ctx.github.put_check_run(
        full_name, sha, CHECK_NAME, run_id=run_id, status=status, conclusion=conclusion,
        title=gate.text, summary=summary, details_url=details_url)
    if claimed:
        async with ctx.db.session() as session:
            await github_store.check_run_created(session, full_name, sha, CHECK_NAME,
                                                 claim=claim, run_id=run_id)
    return run_id


async def _card_link(ctx: Context, channel: str | None, ts: str | None) -> str | None:
    if not channel or not ts:
        return None
    try:
        answer = await ctx.slack.chat_getPermalink(channel=channel, message_ts=ts)
    except Exception as exc:  # the check goes out without its link rather than not at all
        log.info("no permalink for the card %s/%s: %r", channel, ts, exc)
        return None
    link = answer.get("permalink")
    return link if isinstance(link, str) else None


async def no_change(ctx: Context, reminder: Reminder) -> None:
    """A pull request no change links: the check says so (neutral or pending, by policy)."""
    if ctx.github is None:
        raise Skip("GitHub is not connected")
    pr = NoChangePayload.model_validate(reminder.payload)
    if pr.installation:
        ctx.github.remember_installation(pr.repo, pr.installation)
    await publish(ctx, pr.repo, pr.sha, gate_rules.no_change_gate(ctx.policy), None)


class NoChangePayload(Payload):
    """A pull request with no change: the commit to mark as needing none."""

    repo: str
    sha: str
    installation: int | None = None
