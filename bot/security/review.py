"""Step 4, the security team decides: approve, request changes, or a tech lead's override.

Only members of the security group decide, never on their own change. "Request changes"
sends the change back to its author like a rejection. A tech lead may bypass a pending
review, but only on the record: an `overridden` decision with their name and reason, and an
audit event. Asking the team (and reminding it) is bot.security.routing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.change import actions as changes
from bot.change.facts import ChangeFacts
from bot.change.states import Category, Status, can_transition, format_change_id
from bot.change.transition import transition
from bot.change.work import (
    Loaded,
    Outcome,
    audit,
    dm,
    editing,
    refresh_card,
    refused,
    thread_note,
    use_case,
)
from bot.context import Context
from bot.flows import review as review_flow
from bot.security.routing import WAITING_KINDS
from bot.security.rules import may_decide_security, may_override_security
from bot.slack import directory
from bot.slack.text import escape
from storage import reminder_store
from storage.models import Approval, Change

COULD_NOT_CHECK = ("I couldn't check with Slack whether you are in {group}. Nothing was "
                   "recorded; please try again in a minute.")


async def in_security_group(ctx: Context, user: str) -> bool | None:
    try:
        return await directory.is_member(ctx, ctx.policy.groups.security, user)
    except directory.DirectoryUnavailable:
        return None


def could_not_check() -> Outcome:
    return refused(COULD_NOT_CHECK.format(group="the security team"))


async def check_decider(ctx: Context, change_id: int, user: str) -> Outcome:
    """May `user` decide this security review now? (Asked again when they submit.)"""
    in_group = await in_security_group(ctx, user)
    if in_group is None:
        return could_not_check()
    return await changes.check(
        ctx, change_id, user, lambda facts, who: may_decide_security(facts, who, in_group)
    )


async def _decide(
    ctx: Context, change_id: int, user: str, decision: str, reason: str,
    follow: Callable[[Loaded, ChangeFacts, datetime], Awaitable[str]],
) -> Outcome:
    """A security team member decides: only members may, each decision is recorded once,
    and the team stops being reminded. `follow` does what this decision leads to and
    returns what the person is told."""
    in_group = await in_security_group(ctx, user)
    if in_group is None:
        return could_not_check()
    try:
        async with editing(ctx, change_id) as loaded:
            change, facts = loaded.change, loaded.facts
            allowed = may_decide_security(facts, user, in_group)
            if not allowed.allowed:
                return refused(allowed.reason)
            now = ctx.clock.now()
            vote = _decision(change, user, decision, now, reason)
            loaded.session.add(vote)
            loaded.approvals.append(vote)
            await loaded.session.flush()
            message = await follow(loaded, facts, now)
            await reminder_store.cancel(loaded.session, now=now, change_id=change_id,
                                        kinds=WAITING_KINDS, reason="the review was decided")
            change.updated_at = now
            await refresh_card(loaded.session, ctx, change)
    except IntegrityError:
        return refused(
            f"You have already decided the security review of {format_change_id(change_id)}.")
    return Outcome(True, message, change)


@use_case
async def approve(ctx: Context, change_id: int, user: str) -> Outcome:
    cid = format_change_id(change_id)

    async def follow(loaded: Loaded, before: ChangeFacts, now: datetime) -> str:
        change = loaded.change
        await audit(loaded.session, ctx, change, user, "security_review_approved",
                    revision=change.revision, triggers=change.security_triggers)
        # The security approval counts as a peer one when the policy says so.
        await review_flow.approval_counted(loaded.session, ctx, change, before, loaded.facts,
                                           by=user)
        await thread_note(loaded.session, ctx, change,
                          f":white_check_mark: Security review approved by <@{user}>.")
        await dm(loaded.session, ctx, change, change.author_id,
                 f"<@{user}> approved the security review of *{cid}*.",
                 key=f"security-approved:{change_id}:r{change.revision}")
        return f"You approved the security review of {cid}."

    return await _decide(ctx, change_id, user, "approved", "", follow)


@use_case
async def request_changes(ctx: Context, change_id: int, user: str, reason: str) -> Outcome:
    """The security team sends the change back to its author, like a rejection."""
    reason = reason.strip()
    if not reason:
        return refused("Say what must change, so the author knows what to fix.")
    cid = format_change_id(change_id)

    async def follow(loaded: Loaded, before: ChangeFacts, now: datetime) -> str:
        change = loaded.change
        # An emergency already in production cannot go back: its gate shows the request.
        back = can_transition(before.status, Status.rejected, Category(change.category))
        to = Status.rejected if back else before.status
        await transition(loaded.session, ctx, change, to, actor=user,
                         action="security_changes_requested", reason=reason,
                         revision=change.revision, status=to.value)
        await dm(loaded.session, ctx, change, change.author_id,
                 f"<@{user}> (security team) requested changes to *{cid}*: "
                 f"{escape(reason)}\nRevise it with *Revise* on the card.",
                 key=f"security-changes:{change_id}:r{change.revision}")
        await thread_note(loaded.session, ctx, change,
                          f"Security review: <@{user}> requested changes: {escape(reason)}")
        return f"You requested changes to {cid}; the author was told why."

    return await _decide(ctx, change_id, user, "changes_requested", reason, follow)


@use_case
async def override(ctx: Context, change_id: int, user: str, reason: str) -> Outcome:
    """A tech lead bypasses a pending security review, with their name and reason on record."""
    reason = reason.strip()
    if not reason:
        return refused("An override needs a reason: it is kept on the record.")
    try:
        is_tech_lead = await directory.is_member(ctx, ctx.policy.groups.tech_leads, user)
    except directory.DirectoryUnavailable:
        return refused(COULD_NOT_CHECK.format(group="the tech leads group"))
    cid = format_change_id(change_id)
    try:
        async with editing(ctx, change_id) as loaded:
            change = loaded.change
            high_risk = change.category == Category.high_risk
            decision = may_override_security(
                loaded.facts, user, is_tech_lead,
                high_risk_allowed=ctx.policy.security.tech_lead_overrides_high_risk)
            if not decision.allowed:
                return refused(decision.reason)
            await settle_without_review(
                loaded, ctx, user, "overridden", reason, "security_review_overridden",
                note=f":warning: <!subteam^{ctx.policy.groups.security}> the security review "
                f"of *{cid}* was overridden by <@{user}>: {escape(reason)}",
                **({"high_risk_allowed_by_policy": True} if high_risk else {}))
    except IntegrityError:
        return refused(f"You have already decided the security review of {cid}.")
    return Outcome(True, f"You overrode the security review of {cid}. It is on the record "
                         "with your reason, and the security team was told.", change)


async def settle_without_review(loaded: Loaded, ctx: Context, user: str, decision: str,
                                reason: str, action: str, *, note: str,
                                **details: object) -> None:
    """The review ends without the team deciding it (overridden, dismissed): the decision on
    the record with its reason and audit event, the team no longer reminded, a note in the
    thread, the card redrawn."""
    change, now = loaded.change, ctx.clock.now()
    loaded.session.add(_decision(change, user, decision, now, reason))
    await audit(loaded.session, ctx, change, user, action, reason=reason,
                revision=change.revision, triggers=change.security_triggers, **details)
    await reminder_store.cancel(loaded.session, now=now, change_id=change.id or 0,
                                kinds=WAITING_KINDS, reason=f"the review was {decision}")
    await thread_note(loaded.session, ctx, change, note)
    change.updated_at = now
    await refresh_card(loaded.session, ctx, change)


def _decision(change: Change, user: str, decision: str, now, reason: str = "") -> Approval:
    return Approval(
        change_id=change.id or 0, revision=change.revision, kind="security",
        decision=decision, actor=user, user_id=user, source="slack", reason=reason,
        created_at=now, commit_sha=change.head_sha,
    )
