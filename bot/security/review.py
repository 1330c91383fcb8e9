"""Step 4, the security review: asking the security team, their decision, and the override.

When a change needs a review (bot.security finds why), the proposal or revision transaction
schedules a durable `security_route` row. Its sender asks Slack who is in the security
group, then schedules the mention in the card's thread, one direct message per member and
the reminders (bot.review_reminders). A Slack error there is retried by the sweeper with
backoff (and past its last attempt, hourly: a review request is never dropped) while the
card says the team was not reached yet.

Only members of the security group decide, never on their own change. "Request changes"
sends the change back to its author like a rejection. A tech lead may bypass a pending
review, but only on the record: an `overridden` decision with their name and reason, and an
audit event. The policy alone decides when a review is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change import actions as changes
from bot.change import card as cards
from bot.change.actions import (
    Loaded,
    Outcome,
    audit,
    editing,
    refresh_card,
    refused,
    thread_note,
    use_case,
)
from bot.change.card_view import BUTTON_PROVIDERS
from bot.change.facts import ChangeFacts
from bot.change.rows import current, facts_of
from bot.change.states import Category, Risk, Status, can_transition, format_change_id
from bot.context import Context
from bot.review import reminders as review_reminders
from bot.review.rules import counted_approvers, status_after_vote
from bot.runtime.sweeper import NotYet, Skip, kind
from bot.security import triggers as security
from bot.security.rules import awaits_security_review, may_decide_security, may_override_security
from bot.security.views import security_buttons
from bot.slack import directory
from bot.slack import outbox as notify
from bot.slack.text import clip, escape
from storage import reminder_store, repo
from storage.models import Approval, Change, Reminder

log = logging.getLogger(__name__)

ROUTE = "security_route"
# Everything that waits on the security team for one revision of a change.
WAITING_KINDS = (ROUTE, *review_reminders.SECURITY_KINDS)

COULD_NOT_CHECK = ("I couldn't check with Slack whether you are in {group}. Nothing was "
                   "recorded; please try again in a minute.")


class Unreachable(Exception):  # noqa: N818
    """Nobody in the security group can be asked to review this change."""


# --------------------------------------------------------------------------------------
# Routing: ask the security team
# --------------------------------------------------------------------------------------


async def on_proposal(session: AsyncSession, ctx: Context, change: Change) -> None:
    """Proposal or revision hook: a revision resets the review, so the team is asked again."""
    await _stop_waiting(session, ctx, change, "the change was revised")
    if change.security_required:
        await request_review(session, ctx, change)


async def request_review(session: AsyncSession, ctx: Context, change: Change) -> None:
    """Schedule the routing, in the caller's transaction. Its reminders are armed once the
    team is reached: nobody is reminded of a request that never got to them."""
    now = ctx.clock.now()
    tag = f"{change.id}:r{change.revision}:{now:%Y%m%dT%H%M%S}"
    await notify.schedule(session, ctx, key=f"security-route:{tag}", kind=ROUTE,
                          change_id=change.id,
                          payload={"revision": change.revision, "tag": tag})


async def _stop_waiting(session: AsyncSession, ctx: Context, change: Change,
                        reason: str) -> None:
    await reminder_store.cancel(session, now=ctx.clock.now(), change_id=change.id or 0,
                                kinds=WAITING_KINDS, reason=reason)
    change.security_routed_at = None
    change.security_route_error = None


async def reassess(session: AsyncSession, ctx: Context, change: Change) -> bool:
    """Compute the triggers again after new evidence, in the caller's transaction (which
    should hold the change locked, see `bot.changes.editing`).

    The GitHub integration calls this after storing a pull request's changed files in
    `change.pr_info["files"]`: a change that newly needs a review gets the security team
    asked; one that no longer matches any trigger stops waiting for it. True when the
    triggers changed (an audit event says how).
    """
    before_required, before = change.security_required, list(change.security_triggers)
    changes.update_security(ctx, change)  # the one place that turns evidence into triggers
    if change.security_triggers == before:
        return False
    await audit(session, ctx, change, "changebot", "security_triggers_changed",
                revision=change.revision, before=before, after=change.security_triggers,
                required=change.security_required)
    if change.security_required and not before_required:
        await request_review(session, ctx, change)
    elif before_required and not change.security_required:
        await _stop_waiting(session, ctx, change, "no security trigger remains")
    change.updated_at = ctx.clock.now()
    await refresh_card(session, ctx, change)
    return True


async def security_reviewers(ctx: Context, change: Change) -> list[str]:
    """The members of the security group who may review this change (not its author)."""
    group = ctx.policy.groups.security
    if not group:
        raise Unreachable("no security group is set in the policy (groups.security)")
    members = await directory.group_members(ctx, group)
    reviewers = sorted(members - {change.author_id})
    if not reviewers:
        raise Unreachable("the security group has no member other than the author"
                          if members else "the security group has no members")
    return reviewers


def _unreached_reason(exc: Exception) -> str:
    if isinstance(exc, directory.DirectoryUnavailable):
        return "Slack did not list the security group's members"
    return str(exc)


def keep_trying(ctx: Context, reminder: Reminder, exc: Exception) -> NoReturn:
    """Retry with the sweeper's backoff; past its last attempt, hourly rather than give up."""
    if reminder.attempts >= ctx.sweeper.max_attempts:
        raise NotYet(f"still retrying: {exc!r}", after=timedelta(hours=1)) from exc
    raise exc


@kind(ROUTE)
async def send_route(ctx: Context, reminder: Reminder) -> None:
    change, facts = await review_reminders.load_facts(ctx, reminder)
    if not awaits_security_review(facts):
        raise Skip("the security review no longer waits for the team")
    try:
        reviewers = await security_reviewers(ctx, change)
    except (directory.DirectoryUnavailable, Unreachable) as exc:
        await _not_reached(ctx, reminder, _unreached_reason(exc))
        keep_trying(ctx, reminder, exc)
    async with ctx.db.session() as session:
        change = await repo.get_change(session, change.id or 0, lock=True)
        if change is None or change.revision != reminder.payload["revision"]:
            raise Skip("the change was revised")
        approvals = await repo.approvals_of(session, change.id or 0)
        if not awaits_security_review(facts_of(change, approvals)):  # decided meanwhile
            raise Skip("the security review no longer waits for the team")
        cid = format_change_id(change.id or 0)
        found = security.summary([security.Trigger(**t) for t in change.security_triggers])
        again = "" if change.revision == 1 else f" again (revision {change.revision})"
        await thread_note(
            session, ctx, change,
            f":shield: <!subteam^{ctx.policy.groups.security}> *{cid}* needs a security "
            f"review{again}: {found}. Members of the security team: approve it or request "
            "changes on the card.",
            key=f"{reminder.key}:mention",
        )
        for member in reviewers:
            await changes.dm(session, ctx, change, member, _request_text(change, found),
                             key=f"{reminder.key}:{member}")
        change.security_routed_at = ctx.clock.now()
        await review_reminders.schedule_security(session, ctx, change, reminder.payload["tag"])
        if change.security_route_error is not None:
            change.security_route_error = None
            await refresh_card(session, ctx, change)
        await audit(session, ctx, change, "changebot", "security_review_requested",
                    revision=change.revision, group=ctx.policy.groups.security,
                    members=reviewers, triggers=change.security_triggers)


def _request_text(change: Change, found: str) -> str:
    cid = format_change_id(change.id or 0)
    verb = "proposed" if change.revision == 1 else "revised"
    kind_ = f"{Category(change.category).label}, {Risk(change.risk).value} risk"
    quoted = "\n".join(f"> {line}" for line in
                       clip(escape(change.description), 300).splitlines() if line.strip())
    return (f":shield: <@{change.author_id}> {verb} *{cid}: {change.title}* ({kind_}), which "
            f"needs a security review: {found}.\n{quoted}\nApprove it or request changes "
            "on the card:")


async def _not_reached(ctx: Context, reminder: Reminder, reason: str) -> None:
    """Say on the card that the team was not reached yet (once per distinct reason)."""
    log.warning("security team not reached for change %s: %s", reminder.change_id, reason)
    async with ctx.db.session() as session:
        change = await repo.get_change(session, reminder.change_id or 0, lock=True)
        if change is None or change.revision != reminder.payload["revision"]:
            return
        if change.security_route_error != reason:
            change.security_route_error = reason
            await refresh_card(session, ctx, change)


@kind(review_reminders.SECURITY_REMINDER)
async def remind_security_team(ctx: Context, reminder: Reminder) -> None:
    """One reminder DM per member, when the review still waits after the policy's delay."""
    change, facts = await review_reminders.load_facts(ctx, reminder)
    if not awaits_security_review(facts):
        raise Skip("the security review was decided, or the change no longer waits for it")
    try:
        reviewers = await security_reviewers(ctx, change)
    except (directory.DirectoryUnavailable, Unreachable) as exc:
        keep_trying(ctx, reminder, exc)
    cid = format_change_id(change.id or 0)
    text = (f":wave: Reminder: *{cid}: {change.title}* by <@{change.author_id}> is still "
            "waiting for a security review. Approve it or request changes on the card:")
    async with ctx.db.session() as session:
        for member in reviewers:
            await changes.dm(session, ctx, change, member, text, key=f"{reminder.key}:{member}")


# --------------------------------------------------------------------------------------
# The security team decides
# --------------------------------------------------------------------------------------


async def _in_security_group(ctx: Context, user: str) -> bool | None:
    try:
        return await directory.is_member(ctx, ctx.policy.groups.security, user)
    except directory.DirectoryUnavailable:
        return None


def _could_not_check(ctx: Context) -> Outcome:
    return refused(COULD_NOT_CHECK.format(group="the security team"))


async def check_decider(ctx: Context, change_id: int, user: str) -> Outcome:
    """May `user` decide this security review now? (Asked again when they submit.)"""
    in_group = await _in_security_group(ctx, user)
    if in_group is None:
        return _could_not_check(ctx)
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
    in_group = await _in_security_group(ctx, user)
    if in_group is None:
        return _could_not_check(ctx)
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
        after = loaded.facts
        new_status = status_after_vote(after, ctx.policy)  # counts only if the policy says
        if new_status != before.status:
            change.status = new_status.value
            await audit(loaded.session, ctx, change, "changebot", "approved",
                        approvers=list(counted_approvers(after, ctx.policy)))
            await changes.dm(loaded.session, ctx, change, change.author_id,
                             f"*{cid}* is approved: its approvals are met.",
                             key=f"approved:{change_id}:r{change.revision}")
        await thread_note(loaded.session, ctx, change,
                          f":white_check_mark: Security review approved by <@{user}>.")
        await changes.dm(loaded.session, ctx, change, change.author_id,
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
        if can_transition(before.status, Status.rejected, Category(change.category)):
            change.status = Status.rejected.value
        await audit(loaded.session, ctx, change, user, "security_changes_requested",
                    reason=reason, revision=change.revision, status=change.status)
        await changes.dm(loaded.session, ctx, change, change.author_id,
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
            decision = may_override_security(loaded.facts, user, is_tech_lead)
            if not decision.allowed:
                return refused(decision.reason)
            now = ctx.clock.now()
            loaded.session.add(_decision(change, user, "overridden", now, reason))
            await audit(loaded.session, ctx, change, user, "security_review_overridden",
                        reason=reason, revision=change.revision,
                        triggers=change.security_triggers)
            await reminder_store.cancel(loaded.session, now=now, change_id=change_id,
                                        kinds=WAITING_KINDS, reason="the review was overridden")
            await thread_note(loaded.session, ctx, change,
                              f":warning: <!subteam^{ctx.policy.groups.security}> the security "
                              f"review of *{cid}* was overridden by <@{user}>: {escape(reason)}")
            change.updated_at = now
            await refresh_card(loaded.session, ctx, change)
    except IntegrityError:
        return refused(f"You have already decided the security review of {cid}.")
    return Outcome(True, f"You overrode the security review of {cid}. It is on the record "
                         "with your reason, and the security team was told.", change)


def _decision(change: Change, user: str, decision: str, now, reason: str = "") -> Approval:
    return Approval(
        change_id=change.id or 0, revision=change.revision, kind="security",
        decision=decision, actor=user, user_id=user, source="slack", reason=reason,
        created_at=now,
    )


# --------------------------------------------------------------------------------------
# On the card
# --------------------------------------------------------------------------------------


def security_decision_notes(change: Change, approvals: Sequence[Approval]) -> list[str]:
    notes = []
    if change.security_route_error and awaits_security_review(facts_of(change, approvals)):
        notes.append(f":warning: Security team not reached yet — retrying "
                     f"({change.security_route_error}).")
    for decided in current(approvals, change, "security"):
        if decided.decision == "overridden":
            notes.append(f":warning: Security review bypassed by <@{decided.actor}>: "
                         f"{escape(decided.reason)}")
        elif decided.decision == "changes_requested":
            notes.append(f"Security review: <@{decided.actor}> requested changes: "
                         f"{escape(decided.reason)}")
    return notes


changes.PROPOSAL_HOOKS.append(on_proposal)
cards.NOTE_PROVIDERS.append(security_decision_notes)
BUTTON_PROVIDERS.append(security_buttons)
