"""Step 4, asking the security team: when a change needs a review and who is asked.

When a change needs a review (bot.security.triggers finds why), the proposal or revision
transaction schedules a durable `security_route` row. Its sender asks Slack who is in the
security group, then schedules the mention in the card's thread, one direct message per
member and the reminders (bot.review.reminders). A Slack error there is retried by the
sweeper with backoff (and past its last attempt, hourly: a review request is never dropped)
while the card says the team was not reached yet. The policy alone decides when a review is
needed; the team's decisions are in bot.security.review.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import NoReturn

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.rows import facts_of
from bot.change.states import Category, Risk, format_change_id
from bot.change.work import audit, dm, refresh_card, thread_note
from bot.context import Context
from bot.review import reminders as review_reminders
from bot.runtime.snooze import snooze_actions
from bot.runtime.sweeper import NotYet, Skip
from bot.security import triggers as security
from bot.security.rules import awaits_security_review
from bot.security.views import holds
from bot.slack import directory
from bot.slack import outbox as notify
from bot.slack.blocks import to_dicts
from bot.slack.text import clip, escape
from storage import reminder_store, repo
from storage.models import Change, Reminder

log = logging.getLogger(__name__)

ROUTE = "security_route"
# Everything that waits on the security team for one revision of a change.
WAITING_KINDS = (ROUTE, *review_reminders.SECURITY_KINDS)


class Unreachable(Exception):  # noqa: N818
    """Nobody in the security group can be asked to review this change."""


def update_security(ctx: Context, change: Change) -> None:
    """Recompute the security-review triggers from everything known: the one place that
    turns evidence into triggers (on a proposal, a revision, and once the linked PR's
    changed files are read)."""
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


async def ask_if_needed(session: AsyncSession, ctx: Context, change: Change) -> None:
    """On a proposal or revision: a revision resets the review, so the team is asked again."""
    await stop_waiting(session, ctx, change, "the change was revised")
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


async def stop_waiting(session: AsyncSession, ctx: Context, change: Change,
                        reason: str) -> None:
    await reminder_store.cancel(session, now=ctx.clock.now(), change_id=change.id or 0,
                                kinds=WAITING_KINDS, reason=reason)
    change.security_routed_at = None
    change.security_route_error = None


async def reassess(session: AsyncSession, ctx: Context, change: Change) -> bool:
    """Compute the triggers again after new evidence, in the caller's transaction (which
    should hold the change locked, see `bot.change.work.editing`).

    The GitHub integration calls this after storing a pull request's changed files in
    `change.pr_info["files"]`: a change that newly needs a review gets the security team
    asked; one that no longer matches any trigger stops waiting for it. True when the
    triggers changed (an audit event says how).
    """
    before_required, before = change.security_required, list(change.security_triggers)
    update_security(ctx, change)
    # A dismissal stands while keywords alone ask for the review (bot.security.dismissal).
    if change.security_required and holds(change, await repo.approvals_of(session, change.id)):
        change.security_required = False
    if change.security_triggers == before:
        return False
    await audit(session, ctx, change, "changebot", "security_triggers_changed",
                revision=change.revision, before=before, after=change.security_triggers,
                required=change.security_required)
    if change.security_required and not before_required:
        await request_review(session, ctx, change)
    elif before_required and not change.security_required:
        await stop_waiting(session, ctx, change, "no security trigger remains")
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


async def _team_to_ask(ctx: Context, reminder: Reminder, waits_no_more: str, *,
                       say_unreached: bool) -> tuple[Change, list[str]]:
    """The change and the security team's members while the review still waits for them;
    skipped once it does not (`waits_no_more` says why), retried while Slack cannot say who
    the members are (and the card says so, with `say_unreached`)."""
    change, facts = await review_reminders.load_facts(ctx, reminder)
    if not awaits_security_review(facts):
        raise Skip(waits_no_more)
    try:
        return change, await security_reviewers(ctx, change)
    except (directory.DirectoryUnavailable, Unreachable) as exc:
        if say_unreached:
            await _not_reached(ctx, reminder, _unreached_reason(exc))
        keep_trying(ctx, reminder, exc)


async def send_route(ctx: Context, reminder: Reminder) -> None:
    change, reviewers = await _team_to_ask(
        ctx, reminder, "the security review no longer waits for the team", say_unreached=True)
    route = RoutePayload.model_validate(reminder.payload)
    async with ctx.db.session() as session:
        locked = await repo.get_change(session, change.id or 0, lock=True)
        if locked is None or locked.revision != route.revision:
            raise Skip("the change was revised")
        change = locked
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
            await dm(session, ctx, change, member, _request_text(change, found),
                     key=f"{reminder.key}:{member}")
        change.security_routed_at = ctx.clock.now()
        await review_reminders.schedule_security(session, ctx, change, route.tag)
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
    revision = RoutePayload.model_validate(reminder.payload).revision
    async with ctx.db.session() as session:
        change = await repo.get_change(session, reminder.change_id or 0, lock=True)
        if change is None or change.revision != revision:
            return
        if change.security_route_error != reason:
            change.security_route_error = reason
            await refresh_card(session, ctx, change)


async def remind_security_team(ctx: Context, reminder: Reminder) -> None:
    """One reminder DM per member, when the review still waits after the policy's delay,
    with "Snooze 30 min / 1 h" (bot.flows.snooze); a snoozed one comes back to that member
    only (`recipient`)."""
    change, reviewers = await _team_to_ask(
        ctx, reminder, "the security review was decided, or the change no longer waits for it",
        say_unreached=False)
    if reminder.recipient is not None:
        if reminder.recipient not in reviewers:
            raise Skip("no longer in the security team")
        reviewers = [reminder.recipient]
    cid = format_change_id(change.id or 0)
    text = (f":wave: Reminder: *{cid}: {change.title}* by <@{change.author_id}> is still "
            "waiting for a security review. Approve it or request changes on the card: "
            + await notify.card_link(ctx, change))
    blocks = to_dicts([SectionBlock(text=MarkdownTextObject(text=clip(text))),
                       snooze_actions("security", change.id or 0)])
    async with ctx.db.session() as session:
        for member in reviewers:
            await dm(session, ctx, change, member, text, key=f"{reminder.key}:{member}",
                     link_card=False, blocks=blocks)


class RoutePayload(review_reminders.RevisionPayload):
    tag: str
