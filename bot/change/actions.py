"""Steps 1 and 3: proposing a change and reviewing it. Each use case is one transaction:
check the rule (bot.review.rules), record the decision, its status move and its audit event
(bot.change.transition), then run what follows (bot.flows); the sweeper sends the Slack
messages after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

from sqlalchemy.exc import IntegrityError

from bot.change.audit_actions import SELF_APPROVAL_REFUSED
from bot.change.decisions import Decision
from bot.change.facts import ChangeFacts
from bot.change.gates import infrastructure_gate, owner_awaited
from bot.change.states import IN_PRODUCTION, GateState, Status, format_change_id
from bot.change.transition import transition
from bot.change.work import Outcome, audit, editing, refresh_card, refused, use_case
from bot.context import Context
from bot.flows import proposal as proposal_flow
from bot.flows import review as review_flow
from bot.proposal.proposals import Proposal
from bot.review.rules import (
    approval_progress,
    approval_rule,
    may_add_approval,
    may_cancel,
    may_count_approval,
    may_reject,
    may_revise,
)
from bot.security.routing import update_security
from bot.slack import directory
from storage import repo
from storage.models import Approval, Change


def _apply(change: Change, proposal: Proposal) -> None:
    for field in fields(proposal):
        value = getattr(proposal, field.name)
        setattr(change, field.name, list(value) if isinstance(value, tuple) else value)


def proposal_of(change: Change) -> Proposal:
    return Proposal(
        title=change.title, description=change.description, category=change.category,
        risk=change.risk, rollback_plan=change.rollback_plan, testing=change.testing,
        security_notes=change.security_notes,
        security_checkboxes=tuple(change.security_checkboxes), pr_url=change.pr_url,
        reviewers=tuple(change.reviewers), planned_at=change.planned_at,
        impact=change.impact, involved=tuple(change.involved),
        fixes_change_id=change.fixes_change_id, service=change.service,
    )


async def propose(
    ctx: Context, *, author: str, proposal: Proposal, source_key: str | None
) -> tuple[Change, bool]:
    """Record a new change in review; (change, created). A retried submission is found, not
    created again."""
    try:
        async with ctx.db.session() as session:
            if source_key and (found := await repo.change_by_source(session, source_key)):
                return found, False
            now = ctx.clock.now()
            change = Change(
                author_id=author, status=Status.in_review, created_at=now,
                updated_at=now, source_key=source_key, title="", description="",
                category=proposal.category, risk=proposal.risk, rollback_plan="",
            )
            _apply(change, proposal)
            update_security(ctx, change)
            session.add(change)
            await session.flush()
            await audit(session, ctx, change, author, "proposed",
                        category=change.category, risk=change.risk,
                        security_triggers=change.security_triggers)
            await proposal_flow.proposed(session, ctx, change)
    except IntegrityError:
        # The same submission arrived twice at the same moment: the other one won.
        async with ctx.db.session() as session:
            found = await repo.change_by_source(session, source_key or "")
        if found is None:
            raise
        return found, False
    ctx.sweeper.kick()
    return change, True


async def _in_group(ctx: Context, group: str | None, user: str) -> bool | None:
    """Membership of `group` (False when the policy sets none); None when Slack can't say."""
    try:
        return await directory.is_member(ctx, group, user)
    except directory.DirectoryUnavailable:
        return None


async def _is_tech_lead(ctx: Context, user: str) -> bool | None:
    return await _in_group(ctx, ctx.policy.groups.tech_leads, user)


@use_case
async def approve(ctx: Context, change_id: int, user: str,
                  seen_revision: int | None = None) -> Outcome:
    """`seen_revision`: the revision on the card the person clicked; an approval counts only
    for what they saw."""
    groups = ctx.policy.groups
    tech_lead = await _is_tech_lead(ctx, user)
    infrastructure = await _in_group(ctx, groups.infrastructure, user)
    reviewer = await _in_group(ctx, groups.reviewers, user)
    try:
        async with editing(ctx, change_id) as loaded:
            change, facts = loaded.change, loaded.facts
            if seen_revision is not None and seen_revision != change.revision:
                return refused(
                    f"{format_change_id(change_id)} changed since that card was shown "
                    f"(revision {change.revision}: a revision or a new commit). Nothing was "
                    "recorded: look at it again on the updated card, then approve it there.")
            infrastructure_pending = bool(infrastructure) and infrastructure_gate(
                facts, ctx.policy, ctx.clock.now()).state == GateState.pending
            code_owner = owner_awaited(facts, ctx.policy, user)
            decision = may_add_approval(facts, user, ctx.policy,
                                        completes_gate=infrastructure_pending or code_owner)
            if not decision.allowed:
                if user == change.author_id:
                    # Evidence that segregation of duties held (bot.evidence reads it).
                    await audit(loaded.session, ctx, change, user, SELF_APPROVAL_REFUSED,
                                revision=change.revision)
                return refused(decision.reason)
            if tech_lead is None and approval_rule(ctx.policy, facts.category,
                                                   facts.risk).tech_leads:
                return refused("I couldn't check with Slack whether you are a tech lead. "
                               "Nothing was recorded; please try again in a minute.")
            if None in (infrastructure, reviewer):
                return refused("I couldn't check with Slack which teams you are in. "
                               "Nothing was recorded; please try again in a minute.")
            eligible = may_count_approval(ctx.policy, reviewer=bool(reviewer),
                                          tech_lead=bool(tech_lead),
                                          infrastructure=bool(infrastructure),
                                          code_owner=code_owner)
            if not eligible.allowed:
                return refused(eligible.reason)
            now = ctx.clock.now()
            vote = Approval(
                change_id=change_id, revision=change.revision, kind="peer",
                decision="approved", actor=user, user_id=user, source="slack",
                tech_lead=bool(tech_lead), infrastructure=bool(infrastructure),
                created_at=now, commit_sha=change.head_sha,
            )
            loaded.session.add(vote)
            loaded.approvals.append(vote)
            await loaded.session.flush()
            progress = approval_progress(loaded.facts, ctx.policy)
            await audit(loaded.session, ctx, change, user, "approval_given",
                        revision=change.revision, tech_lead=bool(tech_lead),
                        infrastructure=bool(infrastructure),
                        approvals=progress.approvals, required=progress.rule.count,
                        after_deployment=facts.status in IN_PRODUCTION)
            await review_flow.approval_counted(loaded.session, ctx, change, facts,
                                               loaded.facts, by=user)
            change.updated_at = now
            await refresh_card(loaded.session, ctx, change)
    except IntegrityError:
        return refused(f"You have already approved {format_change_id(change_id)}.")
    return Outcome(True, f"You approved {format_change_id(change_id)} ({progress.approvals} "
                         f"of {progress.rule.count}).", change)


@use_case
async def check(ctx: Context, change_id: int, user: str,
                rule: Callable[[ChangeFacts, str], Decision]) -> Outcome:
    """Ask a permission rule before opening a modal (it is asked again on submit)."""
    async with editing(ctx, change_id) as loaded:
        decision = rule(loaded.facts, user)
        if not decision.allowed:
            return refused(decision.reason)
        return Outcome(True, "", loaded.change)


@use_case
async def reject(ctx: Context, change_id: int, user: str, reason: str) -> Outcome:
    if not reason.strip():
        return refused("A rejection needs a reason, so the author knows what to fix.")
    async with editing(ctx, change_id) as loaded:
        change = loaded.change
        decision = may_reject(loaded.facts, user)
        if not decision.allowed:
            return refused(decision.reason)
        loaded.session.add(Approval(
            change_id=change_id, revision=change.revision, kind="peer",
            decision="rejected", actor=user, user_id=user, reason=reason,
            created_at=ctx.clock.now(), commit_sha=change.head_sha,
        ))
        await transition(loaded.session, ctx, change, Status.rejected, actor=user,
                         action="rejected", reason=reason, revision=change.revision)
        await review_flow.rejected(loaded.session, ctx, change, by=user, reason=reason)
    return Outcome(True, f"You rejected {format_change_id(change_id)}; the author was told "
                         "why.", change)


@use_case
async def revise(ctx: Context, change_id: int, user: str, proposal: Proposal) -> Outcome:
    async with editing(ctx, change_id) as loaded:
        change = loaded.change
        decision = may_revise(loaded.facts, user)
        if not decision.allowed:
            return refused(decision.reason)
        changed = proposal.differences(proposal_of(change))
        cid = format_change_id(change_id)
        if not changed:
            return Outcome(True, f"Nothing changed in {cid}.", change)
        _apply(change, proposal)
        update_security(ctx, change)
        change.revision += 1
        await transition(loaded.session, ctx, change, Status.in_review, actor=user,
                         action="revised", revision=change.revision, changes=changed,
                         security_triggers=change.security_triggers)
        await proposal_flow.revised(loaded.session, ctx, change, by=user, changed=changed)
    return Outcome(True, f"{cid} revised: approvals were reset and reviewers asked again.",
                   change)


@use_case
async def cancel(ctx: Context, change_id: int, user: str) -> Outcome:
    async with editing(ctx, change_id) as loaded:
        change = loaded.change
        decision = may_cancel(loaded.facts, user)
        if not decision.allowed:
            return refused(decision.reason)
        change.closed_at = ctx.clock.now()
        await transition(loaded.session, ctx, change, Status.cancelled, actor=user,
                         action="cancelled")
        await review_flow.cancelled(loaded.session, ctx, change, by=user)
    return Outcome(True, f"{format_change_id(change_id)} is cancelled.", change)

