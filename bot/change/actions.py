"""Steps 1 and 3: proposing a change and reviewing it. Each use case is one transaction:
check the rule (bot.lifecycle), record the decision and its audit event, schedule the Slack
messages that follow; the sweeper sends them after the commit.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.audit_actions import SELF_APPROVAL_REFUSED
from bot.change.facts import ChangeFacts
from bot.change.rows import facts_of
from bot.change.states import IN_PRODUCTION, Status, format_change_id
from bot.context import Context
from bot.proposal.proposals import Proposal
from bot.review.rules import (
    approval_progress,
    approval_rule,
    may_approve,
    may_cancel,
    may_reject,
    may_revise,
    status_after_vote,
)
from bot.security import triggers as security
from bot.slack import directory
from bot.slack import outbox as notify
from storage import reminder_store, repo
from storage.models import Approval, Change


@dataclass(frozen=True)
class Outcome:
    """What happened, in words for the person who asked (shown ephemerally)."""

    ok: bool
    message: str
    change: Change | None = None


def refused(message: str) -> Outcome:
    return Outcome(False, message)


@dataclass
class Loaded:
    session: AsyncSession
    change: Change
    approvals: list[Approval]

    @property
    def facts(self) -> ChangeFacts:
        return facts_of(self.change, self.approvals)


class NoSuchChange(Exception):  # noqa: N818
    pass


def use_case(work: Callable[..., Awaitable[Outcome]]) -> Callable[..., Awaitable[Outcome]]:
    """A person's action on one change: an unknown change is refused in words, and once the
    transaction committed, the Slack messages it scheduled are sent at once."""

    @functools.wraps(work)
    async def run(ctx: Context, *args, **kwargs) -> Outcome:
        try:
            outcome = await work(ctx, *args, **kwargs)
        except NoSuchChange as missing:
            return refused(str(missing))
        if outcome.ok:
            ctx.sweeper.kick()
        return outcome

    return run


@asynccontextmanager
async def editing(ctx: Context, change_id: int):
    """One transaction on one change, locked against concurrent decisions."""
    async with ctx.db.session() as session:
        change = await repo.get_change(session, change_id, lock=True)
        if change is None:
            raise NoSuchChange(f"There is no {format_change_id(change_id)}.")
        approvals = list(await repo.approvals_of(session, change_id))
        yield Loaded(session, change, approvals)


# Hooks run inside the transaction of a proposal or revision (security routing plugs in here).
ProposalHook = Callable[[AsyncSession, Context, Change], Awaitable[None]]
PROPOSAL_HOOKS: list[ProposalHook] = []
# Hooks run inside an approval's transaction once the vote is recorded, with the facts
# before and after it (emergencies plug in here: approved after deployment).
ApprovalHook = Callable[[AsyncSession, Context, Change, ChangeFacts, ChangeFacts, str],
                        Awaitable[None]]
APPROVAL_HOOKS: list[ApprovalHook] = []


def _apply(change: Change, proposal: Proposal) -> None:
    for field in fields(proposal):
        value = getattr(proposal, field.name)
        setattr(change, field.name, list(value) if isinstance(value, tuple) else value)


def update_security(ctx: Context, change: Change) -> None:
    """Recompute the security-review triggers from everything known (bot.security); also run
    after the linked PR's changed files are read (bot.pull_requests)."""
    evidence = security.Evidence(
        category=change.category,
        checkboxes=tuple(change.security_checkboxes),
        texts=(change.title, change.description),
        notes=change.security_notes or "",
        changed_files=tuple(change.pr_info.get("files", [])),
    )
    triggers = security.triggers(evidence, ctx.policy)
    change.security_required = bool(triggers)
    change.security_triggers = [{"source": t.source, "reason": t.reason} for t in triggers]


def proposal_of(change: Change) -> Proposal:
    return Proposal(
        title=change.title, description=change.description, category=change.category,
        risk=change.risk, rollback_plan=change.rollback_plan, testing=change.testing,
        security_notes=change.security_notes,
        security_checkboxes=tuple(change.security_checkboxes), pr_url=change.pr_url,
        reviewers=tuple(change.reviewers), planned_at=change.planned_at,
        impact=change.impact, involved=tuple(change.involved),
    )


async def audit(
    session: AsyncSession, ctx: Context, change: Change, actor: str, action: str, **detail
) -> None:
    await repo.add_audit(session, at=ctx.clock.now(), actor=actor, action=action,
                         change_id=change.id, detail=detail)


async def refresh_card(session: AsyncSession, ctx: Context, change: Change) -> None:
    await notify.schedule(session, ctx, key=f"card:{change.id}:{uuid.uuid4().hex}",
                          kind="card", change_id=change.id)


async def thread_note(session: AsyncSession, ctx: Context, change: Change, text: str,
                      key: str | None = None) -> bool:
    """A note in the card's thread; False when one with this key was scheduled already."""
    return await notify.schedule(session, ctx, key=key or f"thread:{change.id}:{uuid.uuid4().hex}",
                          kind="thread", change_id=change.id, payload={"text": text})


async def dm(session: AsyncSession, ctx: Context, change: Change, user: str, text: str, *,
             key: str, link_card: bool = True, **payload) -> bool:
    """A direct message; False when one with this key was scheduled already, or when the
    person is known only by a GitHub login (`gh:…`) and so cannot be written to in Slack."""
    if not is_slack_user(user):
        return False
    return await notify.schedule(session, ctx, key=key, kind="dm", change_id=change.id,
                          recipient=user, payload={"text": text, "link_card": link_card,
                                                   **payload})


def is_slack_user(user_id: str | None) -> bool:
    """A Slack user id (`U…`, `W…`), as opposed to `gh:<login>` or `changebot`."""
    return bool(user_id) and user_id[:1] in ("U", "W")


async def _request_reviews(session: AsyncSession, ctx: Context, change: Change) -> None:
    cid = format_change_id(change.id or 0)
    verb = "asked you to review" if change.revision == 1 else "revised and asks you to review"
    for reviewer in change.reviewers:
        await dm(session, ctx, change, reviewer,
                 f"<@{change.author_id}> {verb} *{cid}: {change.title}*.",
                 key=f"review-request:{change.id}:r{change.revision}:{reviewer}")


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
                author_id=author, status=Status.in_review.value, created_at=now,
                updated_at=now, source_key=source_key, title="", description="",
                category="", risk="", rollback_plan="",
            )
            _apply(change, proposal)
            update_security(ctx, change)
            session.add(change)
            await session.flush()
            await audit(session, ctx, change, author, "proposed",
                        category=change.category, risk=change.risk,
                        security_triggers=change.security_triggers)
            await refresh_card(session, ctx, change)
            await _request_reviews(session, ctx, change)
            for hook in PROPOSAL_HOOKS:
                await hook(session, ctx, change)
    except IntegrityError:
        # The same submission arrived twice at the same moment: the other one won.
        async with ctx.db.session() as session:
            found = await repo.change_by_source(session, source_key or "")
        if found is None:
            raise
        return found, False
    ctx.sweeper.kick()
    return change, True


async def _is_tech_lead(ctx: Context, user: str) -> bool | None:
    try:
        return await directory.is_member(ctx, ctx.policy.groups.tech_leads, user)
    except directory.DirectoryUnavailable:
        return None


@use_case
async def approve(ctx: Context, change_id: int, user: str,
                  seen_revision: int | None = None) -> Outcome:
    """`seen_revision`: the revision on the card the person clicked; an approval counts only
    for what they saw."""
    tech_lead = await _is_tech_lead(ctx, user)
    try:
        async with editing(ctx, change_id) as loaded:
            change, facts = loaded.change, loaded.facts
            if seen_revision is not None and seen_revision != change.revision:
                return refused(
                    f"{format_change_id(change_id)} changed since that card was shown "
                    f"(revision {change.revision}: a revision or a new commit). Nothing was "
                    "recorded: look at it again on the updated card, then approve it there.")
            decision = may_approve(facts, user)
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
            now = ctx.clock.now()
            vote = Approval(
                change_id=change_id, revision=change.revision, kind="peer",
                decision="approved", actor=user, user_id=user, source="slack",
                tech_lead=bool(tech_lead), created_at=now, commit_sha=change.head_sha,
            )
            loaded.session.add(vote)
            loaded.approvals.append(vote)
            await loaded.session.flush()
            after = loaded.facts
            progress = approval_progress(after, ctx.policy)
            await audit(loaded.session, ctx, change, user, "approval_given",
                        revision=change.revision, tech_lead=bool(tech_lead),
                        approvals=progress.approvals, required=progress.rule.count,
                        after_deployment=facts.status in IN_PRODUCTION)
            cid = format_change_id(change_id)
            new_status = status_after_vote(after, ctx.policy)
            if new_status != facts.status:
                from bot.review.reminders import PEER_KINDS

                change.status = new_status.value
                await reminder_store.cancel(loaded.session, now=now, change_id=change_id,
                                            kinds=PEER_KINDS, reason="approvals met")
                await audit(loaded.session, ctx, change, "changebot", "approved",
                            approvers=[v.user for v in after.approvals])
                await dm(loaded.session, ctx, change, change.author_id,
                         f"*{cid}* is approved: its approvals are met.",
                         key=f"approved:{change_id}:r{change.revision}")
            for hook in APPROVAL_HOOKS:
                await hook(loaded.session, ctx, change, facts, after, user)
            change.updated_at = now
            await refresh_card(loaded.session, ctx, change)
    except IntegrityError:
        return refused(f"You have already approved {format_change_id(change_id)}.")
    return Outcome(True, f"You approved {cid} ({progress.approvals} of "
                         f"{progress.rule.count}).", change)


@use_case
async def check(ctx: Context, change_id: int, user: str, rule) -> Outcome:
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
        now = ctx.clock.now()
        loaded.session.add(Approval(
            change_id=change_id, revision=change.revision, kind="peer",
            decision="rejected", actor=user, user_id=user, reason=reason,
            created_at=now,
        ))
        change.status = Status.rejected.value
        change.updated_at = now
        await audit(loaded.session, ctx, change, user, "rejected", reason=reason,
                    revision=change.revision)
        cid = format_change_id(change_id)
        await dm(loaded.session, ctx, change, change.author_id,
                 f"<@{user}> rejected *{cid}*: {reason}\nRevise it with *Revise* on the card.",
                 key=f"rejected:{change_id}:r{change.revision}")
        await thread_note(loaded.session, ctx, change,
                          f"Rejected by <@{user}>: {reason}")
        await refresh_card(loaded.session, ctx, change)
    return Outcome(True, f"You rejected {cid}; the author was told why.", change)


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
        now = ctx.clock.now()
        _apply(change, proposal)
        update_security(ctx, change)
        change.revision += 1
        change.status = Status.in_review.value
        change.updated_at = now
        await audit(loaded.session, ctx, change, user, "revised",
                    revision=change.revision, changes=changed,
                    security_triggers=change.security_triggers)
        await thread_note(loaded.session, ctx, change,
                          f"<@{user}> revised the change ({', '.join(changed)}): "
                          "approvals were reset and reviewers asked again.")
        await _request_reviews(loaded.session, ctx, change)
        for hook in PROPOSAL_HOOKS:
            await hook(loaded.session, ctx, change)
        await refresh_card(loaded.session, ctx, change)
    return Outcome(True, f"{cid} revised: approvals were reset and reviewers asked again.",
                   change)


@use_case
async def cancel(ctx: Context, change_id: int, user: str) -> Outcome:
    async with editing(ctx, change_id) as loaded:
        change = loaded.change
        decision = may_cancel(loaded.facts, user)
        if not decision.allowed:
            return refused(decision.reason)
        now = ctx.clock.now()
        change.status = Status.cancelled.value
        change.closed_at = change.updated_at = now
        await reminder_store.cancel(loaded.session, now=now, change_id=change_id,
                                    kinds_except=notify.RECORD_KINDS,
                                    reason="the change was cancelled")
        await audit(loaded.session, ctx, change, user, "cancelled")
        await thread_note(loaded.session, ctx, change, f"Cancelled by <@{user}>.")
        await refresh_card(loaded.session, ctx, change)
    return Outcome(True, f"{format_change_id(change_id)} is cancelled.", change)
