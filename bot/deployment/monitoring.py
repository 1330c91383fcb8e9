"""Step 7, the monitoring window: two reminder rows written with the deployment.

`monitoring_ended` at the window's end (the DM asking to verify or roll back) and
`verification_overdue` a policy grace later (a second DM and a note in the card's thread).
Both re-check the change just before acting; verification or rollback cancels them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Status, format_change_id
from bot.change.work import NoSuchChange, audit, editing, is_slack_user, thread_note
from bot.context import Context
from bot.deployment import views as views
from bot.runtime.snooze import snooze_actions, snoozed_note
from bot.runtime.sweeper import Payload, Skip
from bot.slack import outbox as notify
from storage.models import Change, Reminder

WINDOW_ENDED = "monitoring_ended"
VERIFICATION_OVERDUE = "verification_overdue"
# Reminders that stop applying once the change is verified or rolled back. (Notifications,
# `card`/`dm`/`thread`, are not cancelled: what was said still goes out.)
WINDOW_REMINDERS = (WINDOW_ENDED, VERIFICATION_OVERDUE)


async def schedule_window(session: AsyncSession, ctx: Context, change: Change,
                          ends: datetime) -> None:
    """The window-end reminders, to whoever deployed it (or its author, when a GitHub login
    nobody linked deployed it)."""
    recipient = next((who for who in (change.deployed_by, change.author_id)
                      if is_slack_user(who)), None)
    if recipient is None:
        return  # nobody in Slack to ask; the card shows the window
    for reminder, due in ((WINDOW_ENDED, ends),
                          (VERIFICATION_OVERDUE, ends + ctx.policy.windows.verification_grace)):
        await notify.schedule(session, ctx, key=f"{reminder}:{change.id}", kind=reminder,
                              change_id=change.id, recipient=recipient, due_at=due)


def _still_monitoring(change: Change) -> None:
    if change.status != Status.monitoring.value:
        raise Skip(f"the change is {change.status.replace('_', ' ')}, no longer monitored")


async def send_window_ended(ctx: Context, reminder: Reminder) -> None:
    """The DM at the end of the window (or the grace reminder): verify, or roll back."""
    change = await notify.load_change(ctx, reminder)
    _still_monitoring(change)
    link = await notify.card_link(ctx, change)
    change = await notify.load_change(ctx, reminder)  # re-checked right before sending
    _still_monitoring(change)
    overdue = WindowPayload.model_validate(reminder.payload).overdue_seconds
    message = views.window_end_message(
        change, link, overdue=timedelta(seconds=overdue) if overdue is not None else None
    )
    if overdue is None:  # once overdue, the escalation is out: nothing left to snooze
        message["blocks"].append(snooze_actions("window", change.id or 0).to_dict())
    await notify.post_once(ctx, reminder, channel=reminder.recipient or "", **message)


async def chase_verification(ctx: Context, reminder: Reminder) -> None:
    """The grace is over and nobody verified: a second DM, and a note in the card's thread."""
    try:
        async with editing(ctx, reminder.change_id or 0) as loaded:
            change = loaded.change
            _still_monitoring(change)
            now = ctx.clock.now()
            overdue = now - (change.monitoring_ends_at or now)
            first = await notify.schedule(
                loaded.session, ctx, key=f"verification-reminder:{change.id}",
                kind=WINDOW_ENDED, change_id=change.id, recipient=reminder.recipient,
                payload={"overdue_seconds": int(overdue.total_seconds())},
            )
            if not first:  # a retry after a crash: this was done already
                return
            await thread_note(
                loaded.session, ctx, change,
                f":hourglass: The monitoring window ended {views.spell(overdue)} ago and "
                f"{format_change_id(change.id or 0)} is not verified yet: "
                f"<@{reminder.recipient}>, verify and close it, or roll it back."
                + snoozed_note(WindowPayload.model_validate(reminder.payload).snoozed),
                key=f"verification-overdue:{change.id}",
            )
            await audit(loaded.session, ctx, change, "changebot", "verification_overdue",
                        window_ended_at=(change.monitoring_ends_at or now).isoformat())
    except NoSuchChange as missing:
        raise Skip(str(missing)) from None


class WindowPayload(Payload):
    overdue_seconds: int | None = None
    snoozed: list = []
