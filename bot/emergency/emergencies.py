"""Emergency changes: "for critical security patches or production outages".

The process: create the PR with the EMERGENCY label, post to #engineering, minimal review
(1 approval, may come after deployment), deploy immediately, retrospective within 24 hours.

- `/change emergency` proposes a change of category `emergency` (bot.changes.propose); the
  proposal hook here records it as declared and schedules, in the same transaction, the
  broadcast in the engineering channel and the EMERGENCY label of its pull request.
- It deploys through bot.deployments like any change; the lifecycle lets it skip staging and
  business hours. The step hook here writes one `gate_bypassed` audit event per gate the
  emergency process skipped, sets the retrospective's due time and arms its reminders and
  the tech leads' reminder of a missing approval.
- Every step that matters (deployed, approved, rolled back, retrospective) is also told in
  the broadcast's thread.

All of it rides on durable reminder rows (bot.sweeper): each is re-checked just before it
acts, and is sent once across restarts and processes.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change import actions as changes
from bot.change.actions import Loaded, NoSuchChange, audit, dm, editing, refresh_card, thread_note
from bot.change.audit_actions import GATE_BYPASSED
from bot.change.card import NOTE_PROVIDERS
from bot.change.card_view import BUTTON_PROVIDERS, CLOSED_BUTTON_PROVIDERS
from bot.change.facts import ChangeFacts
from bot.change.rows import facts_of
from bot.change.states import IN_PRODUCTION, Category, Status, format_change_id
from bot.context import Context
from bot.deployment import steps as deployments
from bot.deployment.rules import ROLLBACK_METHODS, ROLLBACK_TRIGGERS
from bot.deployment.steps import StepOutcome, refused
from bot.deployment.views import quote, spell
from bot.emergency import views as views
from bot.emergency.rules import (
    awaits_emergency_approval,
    emergency_bypasses,
    may_record_retrospective,
    needs_retrospective,
    retrospective_due,
    retrospective_overdue,
    status_after_retrospective,
)
from bot.proposal.proposals import Invalid, Proposal, check_pr_url, check_text
from bot.review.rules import approvals_met
from bot.runtime.sweeper import NotYet, Skip, kind
from bot.slack import directory
from bot.slack import outbox as notify
from bot.slack.text import clip, escape, slack_date, users
from storage import reminder_store, repo
from storage.models import Change, Reminder

BROADCAST = "emergency_broadcast"
BROADCAST_NOTE = "emergency_note"
APPROVAL_MISSING = "emergency_approval"
RETROSPECTIVE_WARNING = "retrospective_warning"
RETROSPECTIVE_DUE = "retrospective_due"
RETROSPECTIVE_OVERDUE = "retrospective_overdue"
RETROSPECTIVE_KINDS = (RETROSPECTIVE_WARNING, RETROSPECTIVE_DUE, RETROSPECTIVE_OVERDUE)

TITLE_LIMIT = 100
_URL = re.compile(r"^https?://[^\s<>|]+$")


def _is_emergency(change: Change) -> bool:
    return change.category == Category.emergency.value


# ---- declaring an emergency --------------------------------------------------------------


def validate_emergency(values: dict[str, Any], *, author: str) -> Proposal:
    """The emergency modal's values as a Proposal, or Invalid naming each bad field."""
    errors: dict[str, str] = {}
    check_text(values, errors)
    for name in ("impact", "description", "rollback_plan"):
        if not values.get(name):
            errors.setdefault(name, "This is required.")
    check_pr_url(values.get("pr_url"), errors)
    if errors:
        raise Invalid(errors)
    description = values["description"]
    return Proposal(
        title=clip(description.splitlines()[0].strip(), TITLE_LIMIT),
        description=description,
        category=Category.emergency.value,
        risk="high",  # an emergency goes to production with no staging and no prior review
        rollback_plan=values["rollback_plan"],
        testing="",
        pr_url=values.get("pr_url") or None,
        impact=values["impact"],
        involved=tuple(u for u in values.get("involved") or () if u != author),
    )


async def declare(ctx: Context, *, author: str, proposal: Proposal,
                  source_key: str | None) -> tuple[Change, bool]:
    """Open an emergency change; the broadcast and the PR label follow (see `_on_proposal`)."""
    return await changes.propose(ctx, author=author, proposal=proposal, source_key=source_key)


async def _on_proposal(session: AsyncSession, ctx: Context, change: Change) -> None:
    """Proposal or revision hook: broadcast an emergency once; label each PR it links."""
    if not _is_emergency(change):
        return
    if change.revision == 1:
        cid = format_change_id(change.id or 0)
        await audit(session, ctx, change, change.author_id, "emergency_declared",
                    impact=change.impact, involved=change.involved,
                    broadcast_channel=ctx.policy.channels.engineering,
                    mention_here=ctx.policy.emergency.mention_here)
        await notify.schedule(session, ctx, key=f"emergency-broadcast:{change.id}",
                              kind=BROADCAST, change_id=change.id)
        await dm(session, ctx, change, change.author_id,
                 f":rotating_light: Emergency *{cid}* is open and announced in the engineering "
                 "channel. Deploy it from the card as soon as you are ready: no staging, no "
                 "business hours; one approval from someone else may come after. The "
                 f"retrospective is due within {spell(ctx.policy.windows.retrospective)} of "
                 "the deployment.", key=f"emergency-declared:{change.id}")


async def _remember_broadcast(ctx: Context, change_id: int, channel: str, ts: str) -> None:
    async with ctx.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            update(Change).where(Change.id == change_id)
            .values(broadcast_channel=channel, broadcast_ts=ts)
        )


@kind(BROADCAST)
async def send_broadcast(ctx: Context, reminder: Reminder) -> None:
    """The post in the engineering channel (with @here unless the policy turns it off)."""
    channel = ctx.policy.channels.engineering
    if not channel:
        raise Skip("no engineering channel in the policy (channels.engineering)")
    change = await notify.load_change(ctx, reminder)
    if change.broadcast_ts is not None:
        return  # posted and remembered; only the "sent" mark was lost
    if change.status == Status.cancelled.value:
        raise Skip("the emergency was cancelled before it was announced")
    link = await notify.card_link(ctx, change)  # the card is posted first
    message = views.broadcast_message(
        change, link, mention_here=ctx.policy.emergency.mention_here,
        retrospective_within=spell(ctx.policy.windows.retrospective),
    )
    posted = await notify.post_once(ctx, reminder, channel=channel, **message)
    await _remember_broadcast(ctx, change.id or 0, posted["channel"], posted["ts"])


async def broadcast_note(session: AsyncSession, ctx: Context, change: Change, text: str, *,
                         key: str) -> bool:
    """An update in the broadcast's thread; False when this key was scheduled already."""
    return await notify.schedule(session, ctx, key=key, kind=BROADCAST_NOTE,
                                 change_id=change.id, payload={"text": text})


@kind(BROADCAST_NOTE)
async def send_broadcast_note(ctx: Context, reminder: Reminder) -> None:
    change = await notify.load_change(ctx, reminder)
    if change.broadcast_ts is None:
        async with ctx.db.session() as session:
            waiting = [r for r in await reminder_store.pending(session, change.id)
                       if r.kind == BROADCAST]
        if waiting:
            raise NotYet("the broadcast is not posted yet")
        raise Skip("the emergency was never broadcast")
    await notify.post_once(ctx, reminder, channel=change.broadcast_channel or "",
                           thread_ts=change.broadcast_ts, text=reminder.payload["text"])


# ---- deployment, approval, rollback ----------------------------------------------------------


async def _on_step(loaded: Loaded, ctx: Context, step: str, user: str,
                   before: ChangeFacts) -> None:
    change = loaded.change
    if not _is_emergency(change):
        return
    cid = format_change_id(change.id or 0)
    if step == "deployed":
        await _deployed(loaded, ctx, user, before)
    elif step == "verified":
        await broadcast_note(loaded.session, ctx, change,
                             f":white_check_mark: <@{user}> verified {cid} in production.",
                             key=f"emergency-verified:{change.id}")
    elif step == "rollback_started":
        rollback = change.rollback
        what = (f"{ROLLBACK_TRIGGERS.get(rollback.get('trigger'), '')} — "
                f"{ROLLBACK_METHODS.get(rollback.get('method'), '')}")
        due = change.retrospective_due_at
        still = f" The retrospective is still due {slack_date(due)}." if due else ""
        await broadcast_note(loaded.session, ctx, change,
                             f":rewind: <@{user}> is rolling back {cid}: {what}.{still}"
                             + quote(rollback.get("notes") or ""),
                             key=f"emergency-rollback:{change.id}")
    elif step == "rollback_finished":
        await broadcast_note(loaded.session, ctx, change,
                             f":rewind: The rollback of {cid} is finished.",
                             key=f"emergency-rollback-finished:{change.id}")


async def _deployed(loaded: Loaded, ctx: Context, user: str, before: ChangeFacts) -> None:
    """What skipping gates means on the record, and what falls due after the deployment."""
    session, change, policy = loaded.session, loaded.change, ctx.policy
    now = ctx.clock.now()
    for bypass in emergency_bypasses(before, policy, now):
        await audit(session, ctx, change, user, GATE_BYPASSED, gate=bypass.gate,
                    reason=bypass.reason, process="emergency")
    due = retrospective_due(policy, now)
    change.retrospective_due_at = due
    await audit(session, ctx, change, "changebot", "retrospective_scheduled",
                due_at=due.isoformat())
    warn_at = due - policy.windows.retrospective_warning
    reminders = [(RETROSPECTIVE_DUE, due), (RETROSPECTIVE_OVERDUE, due)]
    if policy.windows.retrospective_warning and warn_at > now:
        reminders.insert(0, (RETROSPECTIVE_WARNING, warn_at))
    approved = approvals_met(before, policy)
    if not approved:
        reminders.append((APPROVAL_MISSING, now + policy.windows.emergency_approval))
    for reminder, at in reminders:
        await notify.schedule(session, ctx, key=f"{reminder}:{change.id}", kind=reminder,
                              change_id=change.id, recipient=change.author_id, due_at=at)
    cid = format_change_id(change.id or 0)
    approval = ("approved before deployment" if approved else
                "not approved yet: one approval from someone other than the author may "
                "come after deployment")
    await broadcast_note(session, ctx, change,
                         f":rocket: <@{user}> deployed {cid} to production ({approval}). "
                         f"Retrospective due {slack_date(due)}.",
                         key=f"emergency-deployed:{change.id}")


async def _on_approval(session: AsyncSession, ctx: Context, change: Change,
                       before: ChangeFacts, after: ChangeFacts, user: str) -> None:
    """The approval of an emergency is complete: said in the broadcast's thread and, when
    it came after the deployment, kept as such in the evidence."""
    if not _is_emergency(change):
        return
    if approvals_met(before, ctx.policy) or not approvals_met(after, ctx.policy):
        return
    cid = format_change_id(change.id or 0)
    after_deployment = before.status in IN_PRODUCTION
    if after_deployment:
        # Its status does not move (it is in production), so bot.changes wrote no
        # "approved" event: this one says the approval is complete, and when.
        await audit(session, ctx, change, "changebot", "approved", after_deployment=True,
                    approvers=sorted({v.user for v in after.approvals}))
        await reminder_store.cancel(session, now=ctx.clock.now(), change_id=change.id or 0,
                                    kinds=[APPROVAL_MISSING], reason="approved")
        await dm(session, ctx, change, change.author_id,
                 f"<@{user}> approved *{cid}* after its deployment: its approval is complete.",
                 key=f"emergency-approved:{change.id}:r{change.revision}")
    when = "after deployment" if after_deployment else "before deployment"
    await broadcast_note(session, ctx, change,
                         f":white_check_mark: <@{user}> approved {cid} ({when}).",
                         key=f"emergency-approved-note:{change.id}:r{change.revision}")


async def _tech_leads(ctx: Context, change: Change) -> list[str]:
    """Who to tell: the tech leads, never the author (raises DirectoryUnavailable: retried)."""
    members = await directory.group_members(ctx, ctx.policy.groups.tech_leads)
    return sorted(m for m in members if m != change.author_id)


async def _load(ctx: Context, reminder: Reminder) -> tuple[Change, ChangeFacts]:
    async with ctx.db.session() as session:
        change = await repo.get_change(session, reminder.change_id or 0)
        if change is None:
            raise Skip("the change no longer exists")
        approvals = await repo.approvals_of(session, change.id or 0)
    return change, facts_of(change, approvals)


@kind(APPROVAL_MISSING)
async def remind_tech_leads_of_approval(ctx: Context, reminder: Reminder) -> None:
    """Still no approval a policy delay after the deployment: each tech lead gets a DM."""
    change, facts = await _load(ctx, reminder)
    if not awaits_emergency_approval(facts, ctx.policy):
        raise Skip("approved, or no longer in production")
    leads = await _tech_leads(ctx, change)
    if not leads:
        raise Skip("no tech lead other than the author to remind")
    try:
        async with editing(ctx, change.id or 0) as loaded:
            change = loaded.change
            if not awaits_emergency_approval(loaded.facts, ctx.policy):
                raise Skip("approved, or no longer in production")
            cid = format_change_id(change.id or 0)
            since = spell(ctx.clock.now() - (change.deployed_at or ctx.clock.now()))
            text = (f":rotating_light: The emergency *{cid}: {escape(change.title)}* by "
                    f"<@{change.author_id}> was deployed {since} ago and is still not "
                    "approved. Please review it and approve it on the card (anyone but the "
                    "author can).")
            sent = [await dm(loaded.session, ctx, change, lead, text,
                             key=f"emergency-approval:{change.id}:{lead}") for lead in leads]
            if not any(sent):  # a retry after a crash: this was done already
                return
            await audit(loaded.session, ctx, change, "changebot", "approval_missing_reminded",
                        tech_leads=leads, deployed_at=(change.deployed_at or
                                                       ctx.clock.now()).isoformat())
    except NoSuchChange as missing:
        raise Skip(str(missing)) from None


# ---- the retrospective -----------------------------------------------------------------------


def _still_due(facts: ChangeFacts) -> None:
    if not needs_retrospective(facts):
        raise Skip("the retrospective is recorded, or the change was never deployed")


@kind(RETROSPECTIVE_WARNING)
@kind(RETROSPECTIVE_DUE)
async def remind_retrospective(ctx: Context, reminder: Reminder) -> None:
    """The engineer's reminders: `windows.retrospective_warning` before it is due, and at due."""
    change, facts = await _load(ctx, reminder)
    _still_due(facts)
    at_due = reminder.kind == RETROSPECTIVE_DUE
    if not at_due and ctx.clock.now() >= (change.retrospective_due_at or ctx.clock.now()):
        raise Skip("sent late (the bot was down): the reminder at the due time says it")
    link = await notify.card_link(ctx, change)
    change, facts = await _load(ctx, reminder)  # re-checked right before sending
    _still_due(facts)
    message = views.retrospective_reminder(change, link, now=ctx.clock.now(), at_due=at_due)
    await notify.post_once(ctx, reminder, channel=reminder.recipient or "", **message)


@kind(RETROSPECTIVE_OVERDUE)
async def escalate_retrospective(ctx: Context, reminder: Reminder) -> None:
    """Overdue: the broadcast's thread and the tech leads are told; the card says so."""
    change, facts = await _load(ctx, reminder)
    _still_due(facts)
    leads = await _tech_leads(ctx, change)
    try:
        async with editing(ctx, change.id or 0) as loaded:
            change = loaded.change
            _still_due(loaded.facts)
            cid = format_change_id(change.id or 0)
            due = change.retrospective_due_at or ctx.clock.now()
            first = await broadcast_note(
                loaded.session, ctx, change,
                f":warning: The retrospective of {cid} is overdue: it was due "
                f"{slack_date(due)}. <@{change.author_id}>, hold it and record it with "
                f"*Retrospective done* on the card. Tech leads told: {users(leads)}.",
                key=f"retrospective-overdue-note:{change.id}",
            )
            if not first:  # a retry after a crash: this was done already
                return
            for lead in leads:
                await dm(loaded.session, ctx, change, lead,
                         f":warning: The retrospective of the emergency *{cid}: "
                         f"{escape(change.title)}* by <@{change.author_id}> is overdue (due "
                         f"{slack_date(due)}).", key=f"retrospective-overdue:{change.id}:{lead}")
            change.retrospective = {**change.retrospective, "overdue_since": due.isoformat()}
            await audit(loaded.session, ctx, change, "changebot", "retrospective_overdue",
                        due_at=due.isoformat(), tech_leads=leads)
            await refresh_card(loaded.session, ctx, change)
    except NoSuchChange as missing:
        raise Skip(str(missing)) from None


async def _is_tech_lead(ctx: Context, user: str) -> bool | None:
    try:
        return await directory.is_member(ctx, ctx.policy.groups.tech_leads, user)
    except directory.DirectoryUnavailable:
        return None


UNKNOWN_TECH_LEAD = ("I couldn't check with Slack whether you are a tech lead. Nothing was "
                     "recorded; please try again in a minute.")


async def retrospective_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    """Pressing "Retrospective done": the modal, or why not."""
    tech_lead = await _is_tech_lead(ctx, user)
    try:
        async with editing(ctx, change_id) as loaded:
            facts = loaded.facts
            if tech_lead is None and user != facts.author:
                return refused(UNKNOWN_TECH_LEAD)
            decision = may_record_retrospective(facts, user, bool(tech_lead))
            if not decision:
                return refused(decision.reason)
            overdue = retrospective_overdue(facts, ctx.clock.now())
            view = views.retrospective_modal(change_id, facts.retrospective_due_at,
                                             overdue=overdue)
            return StepOutcome(True, "", view=view)
    except NoSuchChange as missing:
        return refused(str(missing))


async def record_retrospective(ctx: Context, change_id: int, user: str, *, document: str,
                               root_cause: str, follow_ups: str) -> StepOutcome:
    """The retrospective is held: keep it, and close the emergency (see the lifecycle)."""
    if not _URL.match(document):
        return refused("Paste a link to the retrospective document (https://…).", "document")
    if not root_cause:
        return refused("Say what the root cause was.", "root_cause")
    if not follow_ups:
        return refused("Say what follows: actions, owners or tickets (or that nothing does, "
                       "and why).", "follow_ups")
    tech_lead = await _is_tech_lead(ctx, user)
    try:
        async with editing(ctx, change_id) as loaded:
            change, facts = loaded.change, loaded.facts
            if tech_lead is None and user != facts.author:
                return refused(UNKNOWN_TECH_LEAD, "document")
            decision = may_record_retrospective(facts, user, bool(tech_lead))
            if not decision:
                return refused(decision.reason, "document")
            now = ctx.clock.now()
            overdue = retrospective_overdue(facts, now)
            status = status_after_retrospective(facts, ctx.policy, now)
            change.retrospective = {**change.retrospective, "document": document,
                                    "root_cause": root_cause, "follow_ups": follow_ups,
                                    "by": user, "overdue": overdue}
            change.retrospective_done_at = change.updated_at = now
            if status != facts.status:
                change.status = status.value
                await reminder_store.cancel(loaded.session, now=now, change_id=change_id,
                                            kinds=deployments.WINDOW_REMINDERS,
                                            reason="closed by its retrospective")
            if status == Status.completed:
                change.closed_at = now
            await reminder_store.cancel(loaded.session, now=now, change_id=change_id,
                                        kinds=[*RETROSPECTIVE_KINDS],
                                        reason="the retrospective is recorded")
            await audit(loaded.session, ctx, change, user, "retrospective_recorded",
                        document=document, root_cause=root_cause, follow_ups=follow_ups,
                        overdue=overdue, status={"from": facts.status.value,
                                                 "to": status.value})
            cid = format_change_id(change_id)
            text = (f":memo: <@{user}> recorded the retrospective of {cid}: <{document}>\n"
                    f"*Root cause*{quote(root_cause)}\n*What follows*{quote(follow_ups)}")
            await thread_note(loaded.session, ctx, change, text)
            await broadcast_note(loaded.session, ctx, change, text,
                                 key=f"retrospective-done:{change_id}")
            await refresh_card(loaded.session, ctx, change)
    except NoSuchChange as missing:
        return refused(str(missing))
    ctx.sweeper.kick()
    closed = " and closed" if status == Status.completed else ""
    return StepOutcome(True, f"Retrospective of {cid} recorded{closed}.", change)


# ---- /change list overdue --------------------------------------------------------------------


async def overdue(ctx: Context) -> list[Change]:
    async with ctx.db.session() as session:
        return list(await repo.overdue_retrospectives(session, ctx.clock.now()))


changes.PROPOSAL_HOOKS.append(_on_proposal)
changes.APPROVAL_HOOKS.append(_on_approval)
deployments.STEP_HOOKS.append(_on_step)
deployments.CANCELLED_BY_ROLLBACK.append(APPROVAL_MISSING)
NOTE_PROVIDERS.append(views.emergency_notes)
BUTTON_PROVIDERS.append(views.retrospective_buttons)
CLOSED_BUTTON_PROVIDERS.append(views.retrospective_buttons)
