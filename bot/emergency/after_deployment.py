"""What an emergency owes once it is deployed: the gates it skipped on the record, one
approval from someone other than its author (which may come after the deployment: the tech
leads are reminded when it does not), and the retrospective within the policy's window
(the engineer reminded before and at the due time, the tech leads told when it is overdue).
A missing approval and an overdue retrospective are escalated again every
`windows.escalation_repeat` until they are done: one reminder, then silence, let an
emergency go without its approval for good.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.audit_actions import GATE_BYPASSED
from bot.change.facts import ChangeFacts
from bot.change.states import IN_PRODUCTION, format_change_id
from bot.change.work import Loaded, NoSuchChange, audit, dm, editing, refresh_card
from bot.context import Context
from bot.deployment.views import spell
from bot.emergency import views as views
from bot.emergency.broadcast import broadcast_note
from bot.emergency.rules import (
    awaits_emergency_approval,
    emergency_bypasses,
    needs_retrospective,
    retrospective_due,
)
from bot.review.reminders import load_current
from bot.review.rules import approvals_met
from bot.runtime.sweeper import Payload, Skip
from bot.slack import directory
from bot.slack import outbox as notify
from bot.slack.text import escape, slack_date, users
from bot.slack.text import user as mention
from storage import reminder_store
from storage.models import Change, Reminder

APPROVAL_MISSING = "emergency_approval"
RETROSPECTIVE_WARNING = "retrospective_warning"
RETROSPECTIVE_DUE = "retrospective_due"
RETROSPECTIVE_OVERDUE = "retrospective_overdue"
RETROSPECTIVE_KINDS = (RETROSPECTIVE_WARNING, RETROSPECTIVE_DUE, RETROSPECTIVE_OVERDUE)


async def deployed(loaded: Loaded, ctx: Context, user: str, before: ChangeFacts) -> None:
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


async def approved(session: AsyncSession, ctx: Context, change: Change,
                   before: ChangeFacts, after: ChangeFacts, *, by: str) -> None:
    """The approval of an emergency is complete: said in the broadcast's thread and, when
    it came after the deployment, kept as such in the evidence."""
    if approvals_met(before, ctx.policy) or not approvals_met(after, ctx.policy):
        return
    cid = format_change_id(change.id or 0)
    after_deployment = before.status in IN_PRODUCTION
    if after_deployment:
        # Its status does not move (it is in production), so bot.flows.review wrote no
        # "approved" event: this one says the approval is complete, and when.
        await audit(session, ctx, change, "changebot", "approved", after_deployment=True,
                    approvers=sorted({v.user for v in after.approvals}))
        await reminder_store.cancel(session, now=ctx.clock.now(), change_id=change.id or 0,
                                    kinds=[APPROVAL_MISSING], reason="approved")
        await dm(session, ctx, change, change.author_id,
                 f"{mention(by)} approved *{cid}* after its deployment: its approval is complete.",
                 key=f"emergency-approved:{change.id}:r{change.revision}")
    when = "after deployment" if after_deployment else "before deployment"
    await broadcast_note(session, ctx, change,
                         f":white_check_mark: {mention(by)} approved {cid} ({when}).",
                         key=f"emergency-approved-note:{change.id}:r{change.revision}")


def escalation_round(reminder: Reminder) -> int:
    """1 for the first escalation, 2 for the first repeat, …"""
    return RoundPayload.model_validate(reminder.payload).round


async def escalate_again(session: AsyncSession, ctx: Context, change: Change,
                         reminder: Reminder) -> None:
    """The next round of this escalation, `windows.escalation_repeat` from now (none when
    the policy sets it to 0); it is skipped if what it chases is done by then."""
    repeat = ctx.policy.windows.escalation_repeat
    if not repeat:
        return
    next_round = escalation_round(reminder) + 1
    await notify.schedule(session, ctx, key=f"{reminder.kind}:{change.id}:{next_round}",
                          kind=reminder.kind, change_id=change.id,
                          recipient=reminder.recipient, payload={"round": next_round},
                          due_at=ctx.clock.now() + repeat)


def _per_round(key: str, round_: int) -> str:
    """The first round keeps the key it always had; the repeats get their own."""
    return key if round_ == 1 else f"{key}:{round_}"


async def _tech_leads(ctx: Context, change: Change) -> list[str]:
    """Who to tell: the tech leads, never the author (raises DirectoryUnavailable: retried)."""
    members = await directory.group_members(ctx, ctx.policy.groups.tech_leads)
    return sorted(m for m in members if m != change.author_id)


async def remind_tech_leads_of_approval(ctx: Context, reminder: Reminder) -> None:
    """Still no approval a policy delay after the deployment: each tech lead gets a DM."""
    change, facts = await load_current(ctx, reminder)
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
            round_ = escalation_round(reminder)
            since = spell(ctx.clock.now() - (change.deployed_at or ctx.clock.now()))
            text = (f":rotating_light: The emergency *{cid}: {escape(change.title)}* by "
                    f"<@{change.author_id}> was deployed {since} ago and is still not "
                    "approved. Please review it and approve it on the card (anyone but the "
                    "author can).")
            if round_ > 1:
                text += (f" Reminder {round_}: this is repeated every "
                         f"{spell(ctx.policy.windows.escalation_repeat)} until it is approved.")
            sent = [await dm(loaded.session, ctx, change, lead, text,
                             key=_per_round(f"emergency-approval:{change.id}:{lead}", round_))
                    for lead in leads]
            if not any(sent):  # a retry after a crash: this was done already
                return
            await audit(loaded.session, ctx, change, "changebot", "approval_missing_reminded",
                        tech_leads=leads, round=round_,
                        deployed_at=(change.deployed_at or ctx.clock.now()).isoformat())
            await escalate_again(loaded.session, ctx, change, reminder)
    except NoSuchChange as missing:
        raise Skip(str(missing)) from None


# ---- the retrospective -----------------------------------------------------------------------


def _still_due(facts: ChangeFacts) -> None:
    if not needs_retrospective(facts):
        raise Skip("the retrospective is recorded, or the change was never deployed")


async def remind_retrospective(ctx: Context, reminder: Reminder) -> None:
    """The engineer's reminders: `windows.retrospective_warning` before it is due, and at due."""
    change, facts = await load_current(ctx, reminder)
    _still_due(facts)
    at_due = reminder.kind == RETROSPECTIVE_DUE
    if not at_due and ctx.clock.now() >= (change.retrospective_due_at or ctx.clock.now()):
        raise Skip("sent late (the bot was down): the reminder at the due time says it")
    link = await notify.card_link(ctx, change)
    change, facts = await load_current(ctx, reminder)  # re-checked right before sending
    _still_due(facts)
    message = views.retrospective_reminder(change, link, now=ctx.clock.now(), at_due=at_due)
    await notify.post_once(ctx, reminder, channel=reminder.recipient or "", **message)


async def escalate_retrospective(ctx: Context, reminder: Reminder) -> None:
    """Overdue: the broadcast's thread and the tech leads are told; the card says so."""
    change, facts = await load_current(ctx, reminder)
    _still_due(facts)
    leads = await _tech_leads(ctx, change)
    try:
        async with editing(ctx, change.id or 0) as loaded:
            change = loaded.change
            _still_due(loaded.facts)
            cid = format_change_id(change.id or 0)
            round_ = escalation_round(reminder)
            due = change.retrospective_due_at or ctx.clock.now()
            again = (f" Reminder {round_}: repeated every "
                     f"{spell(ctx.policy.windows.escalation_repeat)} until it is recorded."
                     if round_ > 1 else "")
            first = await broadcast_note(
                loaded.session, ctx, change,
                f":warning: The retrospective of {cid} is overdue: it was due "
                f"{slack_date(due)}. <@{change.author_id}>, hold it and record it with "
                f"*Retrospective done* on the card. Tech leads told: {users(leads)}.{again}",
                key=_per_round(f"retrospective-overdue-note:{change.id}", round_),
            )
            if not first:  # a retry after a crash: this was done already
                return
            for lead in leads:
                await dm(loaded.session, ctx, change, lead,
                         f":warning: The retrospective of the emergency *{cid}: "
                         f"{escape(change.title)}* by <@{change.author_id}> is overdue (due "
                         f"{slack_date(due)}).{again}",
                         key=_per_round(f"retrospective-overdue:{change.id}:{lead}", round_))
            if round_ == 1:
                change.retrospective = {**change.retrospective,
                                        "overdue_since": due.isoformat()}
            await audit(loaded.session, ctx, change, "changebot", "retrospective_overdue",
                        due_at=due.isoformat(), tech_leads=leads, round=round_)
            await escalate_again(loaded.session, ctx, change, reminder)
            await refresh_card(loaded.session, ctx, change)
    except NoSuchChange as missing:
        raise Skip(str(missing)) from None


class RoundPayload(Payload):
    round: int = 1
