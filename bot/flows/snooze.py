"""A reminder snoozed ("Snooze 30 min / 1 h" under a review reminder, the security team's
reminder or the window-end DM).

1. Only the person reminded, while the reminder still applies (a reviewer whose answer is
   awaited; a member of the security team who may decide the review still awaited; whoever
   was asked to verify a change still monitored).
2. The reminder is scheduled again in 30 min or 1 h, for that person, never after its
   escalation (the note in the card's thread, the overdue chase), which is not moved; once
   the escalation is due there is nothing left to snooze.
3. The snooze is an audit event, and the escalation row keeps it, so the escalation says so.
Verification, rollback, approvals met, the security review decided or a revision cancel the
snoozed reminder like the first one (same kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Status, format_change_id
from bot.change.work import Loaded, NoSuchChange, audit, editing
from bot.context import Context
from bot.deployment.monitoring import VERIFICATION_OVERDUE, WINDOW_ENDED
from bot.deployment.steps import StepOutcome, refused
from bot.review.reminders import (
    PEER_REMINDER,
    SECURITY_ESCALATION,
    SECURITY_REMINDER,
    ReviewReminderPayload,
    RevisionPayload,
)
from bot.review.rules import awaits_peer_review
from bot.runtime.snooze import snooze_until
from bot.runtime.sweeper import Payload
from bot.security.review import in_security_group
from bot.security.rules import may_decide_security
from bot.slack import outbox as notify
from bot.slack.text import slack_date
from storage.models import Reminder


@dataclass(frozen=True)
class _Snoozable:
    """The reminder to send again, and the escalation it may not pass."""

    escalation: Reminder | None
    kind: str
    key: str
    payload: dict[str, Any]
    what: str  # the escalation, as the person reads it


class Snoozes(Payload):
    """What an escalation row (of any kind) keeps of the snoozes before it."""

    snoozed: list[dict[str, Any]] = []


async def _pending(session: AsyncSession, key: str) -> Reminder | None:
    found = await session.exec(select(Reminder).where(
        Reminder.key == key, col(Reminder.sent_at).is_(None),
        col(Reminder.cancelled_at).is_(None)))
    return found.first()


async def _pending_kind(session: AsyncSession, change_id: int, kind: str,
                        revision: int) -> Reminder | None:
    """The change's unsent row of `kind` for this revision (its key carries a routing tag)."""
    found = await session.exec(select(Reminder).where(
        Reminder.change_id == change_id, Reminder.kind == kind,
        col(Reminder.sent_at).is_(None), col(Reminder.cancelled_at).is_(None)))
    return next((r for r in found.all()
                 if RevisionPayload.model_validate(r.payload).revision == revision), None)


def _since(escalation: Reminder | None, now: datetime) -> str:
    since = ReviewReminderPayload.model_validate(escalation.payload).since if escalation else ""
    return since or now.isoformat()


async def _review(loaded: Loaded, ctx: Context, user: str, now: datetime) -> _Snoozable | str:
    change = loaded.change
    if user not in change.reviewers or not awaits_peer_review(loaded.facts, ctx.policy, user):
        return f"{format_change_id(change.id or 0)} no longer waits for your review"
    tag = f"{change.id}:r{change.revision}"
    escalation = await _pending(loaded.session, f"review-escalation:{tag}")
    return _Snoozable(escalation, PEER_REMINDER, f"review-reminder:{tag}:{user}",
                      {"revision": change.revision, "since": _since(escalation, now)},
                      "the note in the card's thread")


async def _security(loaded: Loaded, user: str, in_team: bool, now: datetime
                    ) -> _Snoozable | str:
    change = loaded.change
    if not in_team or not may_decide_security(loaded.facts, user, in_security_group=True).allowed:
        return f"{format_change_id(change.id or 0)} no longer waits for your security review"
    escalation = await _pending_kind(loaded.session, change.id or 0, SECURITY_ESCALATION,
                                     change.revision)
    return _Snoozable(escalation, SECURITY_REMINDER,
                      f"security-reminder:{change.id}:r{change.revision}:{user}",
                      {"revision": change.revision, "since": _since(escalation, now)},
                      "the note to the security team in the card's thread")


async def _window(loaded: Loaded, user: str) -> _Snoozable | str:
    change = loaded.change
    escalation = await _pending(loaded.session, f"{VERIFICATION_OVERDUE}:{change.id}")
    if change.status != Status.monitoring.value or (
            escalation is not None and escalation.recipient != user):
        return f"{format_change_id(change.id or 0)} is not waiting for your verification"
    return _Snoozable(escalation, WINDOW_ENDED, f"{WINDOW_ENDED}:{change.id}", {},
                      "the overdue reminder and its note in the card's thread")


async def snooze(ctx: Context, change_id: int, user: str, family: str,
                 minutes: int) -> StepOutcome:
    now = ctx.clock.now()
    cid = format_change_id(change_id)
    # Asked before the change is locked: no Slack call while it is. None: Slack can't say.
    in_team = await in_security_group(ctx, user) if family == "security" else False
    if in_team is None:
        return refused("I couldn't check with Slack whether you are in the security team. "
                       "Nothing was snoozed; please try again in a minute.")
    try:
        async with editing(ctx, change_id) as loaded:
            change, session = loaded.change, loaded.session
            if family == "review":
                found = await _review(loaded, ctx, user, now)
            elif family == "security":
                found = await _security(loaded, user, in_team, now)
            else:
                found = await _window(loaded, user)
            if isinstance(found, str):
                return refused(f"{found}: nothing to snooze.")
            escalation = found.escalation
            decision = snooze_until(now, minutes, escalation.due_at if escalation else None)
            if decision.until is None or escalation is None:
                return refused(f"The reminder of {cid} cannot be snoozed any more: "
                               f"{found.what} is due already.")
            until = decision.until
            await notify.schedule(session, ctx, key=f"{found.key}:snoozed:{int(now.timestamp())}",
                                  kind=found.kind, change_id=change.id, recipient=user,
                                  payload=found.payload, due_at=until)
            snoozes = [*Snoozes.model_validate(escalation.payload).snoozed,
                       {"by": user, "until": until.isoformat()}]
            escalation.payload = {**escalation.payload, "snoozed": snoozes}
            session.add(escalation)
            await audit(session, ctx, change, user, "reminder_snoozed", reminder=found.kind,
                        minutes=minutes, until=until.isoformat())
    except NoSuchChange as missing:
        return refused(str(missing))
    ctx.sweeper.kick()
    capped = (f" — not later: {found.what} is due then, and a snooze does not move it"
              if decision.capped else "")
    return StepOutcome(True, f"Snoozed: I'll remind you of {cid} again "
                             f"{slack_date(until)}{capped}.")
