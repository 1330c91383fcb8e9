"""A reminder snoozed ("Snooze 30 min / 1 h" under a review reminder or the window-end DM).

1. Only the person reminded, while the reminder still applies (a reviewer whose answer is
   awaited; whoever was asked to verify a change still monitored).
2. The reminder is scheduled again in 30 min or 1 h, never after its escalation (the note in
   the card's thread, the overdue chase), which is not moved; once the escalation is due
   there is nothing left to snooze.
3. The snooze is an audit event, and the escalation row keeps it, so the escalation says so.
Verification, rollback, approvals met or a revision cancel the snoozed reminder like the
first one (same kind).
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Status, format_change_id
from bot.change.work import NoSuchChange, audit, editing
from bot.context import Context
from bot.deployment.monitoring import VERIFICATION_OVERDUE, WINDOW_ENDED, WindowPayload
from bot.deployment.steps import StepOutcome, refused
from bot.review.reminders import PEER_REMINDER, ReviewReminderPayload
from bot.review.rules import awaits_peer_review
from bot.runtime.snooze import snooze_until
from bot.slack import outbox as notify
from bot.slack.text import slack_date
from storage.models import Reminder


async def _pending(session: AsyncSession, key: str) -> Reminder | None:
    found = await session.exec(select(Reminder).where(
        Reminder.key == key, col(Reminder.sent_at).is_(None),
        col(Reminder.cancelled_at).is_(None)))
    return found.first()


async def snooze(ctx: Context, change_id: int, user: str, family: str,
                 minutes: int) -> StepOutcome:
    now = ctx.clock.now()
    cid = format_change_id(change_id)
    try:
        async with editing(ctx, change_id) as loaded:
            change, session = loaded.change, loaded.session
            if family == "review":
                if user not in change.reviewers or not awaits_peer_review(
                        loaded.facts, ctx.policy, user):
                    return refused(f"{cid} no longer waits for your review: nothing to snooze.")
                tag = f"{change.id}:r{change.revision}"
                escalation = await _pending(session, f"review-escalation:{tag}")
                kind, key = PEER_REMINDER, f"review-reminder:{tag}:{user}"
                shape: type[ReviewReminderPayload | WindowPayload] = ReviewReminderPayload
                payload = {"revision": change.revision,
                           "since": (ReviewReminderPayload.model_validate(escalation.payload)
                                     .since if escalation else now.isoformat())}
                what = "the note in the card's thread"
            else:
                escalation = await _pending(session, f"{VERIFICATION_OVERDUE}:{change.id}")
                if change.status != Status.monitoring.value or (
                        escalation is not None and escalation.recipient != user):
                    return refused(f"{cid} is not waiting for your verification: nothing to "
                                   "snooze.")
                kind, key, payload = WINDOW_ENDED, f"{WINDOW_ENDED}:{change.id}", {}
                shape = WindowPayload
                what = "the overdue reminder and its note in the card's thread"
            decision = snooze_until(now, minutes, escalation.due_at if escalation else None)
            if decision.until is None or escalation is None:
                return refused(f"The reminder of {cid} cannot be snoozed any more: {what} "
                               "is due already.")
            until = decision.until
            await notify.schedule(session, ctx, key=f"{key}:snoozed:{int(now.timestamp())}",
                                  kind=kind, change_id=change.id, recipient=user,
                                  payload=payload, due_at=until)
            snoozes = [*shape.model_validate(escalation.payload).snoozed,
                       {"by": user, "until": until.isoformat()}]
            escalation.payload = {**escalation.payload, "snoozed": snoozes}
            session.add(escalation)
            await audit(session, ctx, change, user, "reminder_snoozed", reminder=kind,
                        minutes=minutes, until=until.isoformat())
    except NoSuchChange as missing:
        return refused(str(missing))
    ctx.sweeper.kick()
    capped = (f" — not later: {what} is due then, and a snooze does not move it"
              if decision.capped else "")
    return StepOutcome(True, f"Snoozed: I'll remind you of {cid} again "
                             f"{slack_date(until)}{capped}.")
