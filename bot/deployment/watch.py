"""The engineer stays on watch (Steps 6–8).

"Engineer available for monitoring during rollout": at the production deployment the
deployer is told in a direct message until when they are monitoring the change; when their
Slack time zone puts that outside their working hours, the card says so.

"Rollback: 5-15 minutes": a rollback started and not finished within the policy's
`windows.rollback` reminds whoever started it, and one more window later tells the tech
leads. Finishing it cancels both.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Status, format_change_id
from bot.change.work import NoSuchChange, audit, dm, editing, is_slack_user, refresh_card
from bot.change.work import thread_note as note
from bot.context import Context
from bot.deployment.business_hours import describe, is_business_time
from bot.deployment.views import spell
from bot.policy import BusinessHours
from bot.runtime.sweeper import Skip
from bot.slack import directory
from bot.slack import outbox as notify
from bot.slack.text import escape, slack_date, users
from storage import reminder_store
from storage.models import Change, Reminder

WATCH = "monitoring_watch"
ROLLBACK_OVERDUE = "rollback_overdue"
ROLLBACK_ESCALATION = "rollback_escalation"
ROLLBACK_REMINDERS = (ROLLBACK_OVERDUE, ROLLBACK_ESCALATION)


# --------------------------------------------------------------------------- pure rules


def hours_in(hours: BusinessHours, timezone: str | None) -> BusinessHours:
    """The policy's working hours read in a person's time zone (the team's when Slack does
    not say, or names a zone Python does not know)."""
    if not timezone:
        return hours
    try:
        return BusinessHours(**{**hours.model_dump(), "timezone": timezone})
    except ValueError:
        return hours


def outside_working_hours(hours: BusinessHours, start: datetime, until: datetime) -> bool:
    """The watch from `start` to `until` is not all inside one stretch of `hours`."""
    last = max(start, until - timedelta(seconds=1))
    return not (is_business_time(hours, start) and is_business_time(hours, last)
                and start.astimezone(hours.zone).date() == last.astimezone(hours.zone).date())


def watch_notes(change: Change, _approvals: Any) -> list[str]:
    """The card's line when the watch runs outside the watcher's working hours."""
    watch = change.watch
    if not watch.get("outside_hours") or change.status != Status.monitoring.value:
        return []
    zone = watch.get("timezone") or "their time zone"
    return [f":crescent_moon: <@{watch.get('by')}> is monitoring it outside their working "
            f"hours ({zone}): make sure someone is available until the window ends."]


# --------------------------------------------------------------------------- at deployment


async def on_deployed(session: AsyncSession, ctx: Context, change: Change) -> None:
    """The deployer is told they are on watch (the DM is sent by `send_watch`)."""
    if change.deployed_by and is_slack_user(change.deployed_by) and change.monitoring_ends_at:
        await notify.schedule(session, ctx, key=f"{WATCH}:{change.id}", kind=WATCH,
                              change_id=change.id, recipient=change.deployed_by)


async def _timezone(ctx: Context, user: str) -> str | None:
    try:
        return (await ctx.slack.users_info(user=user))["user"].get("tz")
    except Exception:  # noqa: BLE001 — Slack cannot say: the team's hours apply
        return None


async def send_watch(ctx: Context, reminder: Reminder) -> None:
    """"You are monitoring CHG-12 until 10:30", with the card's link; the card notes a watch
    outside the person's working hours."""
    change = await notify.load_change(ctx, reminder)
    if change.status != Status.monitoring.value or change.monitoring_ends_at is None:
        raise Skip("no longer monitored")
    user, until = reminder.recipient or "", change.monitoring_ends_at
    zone = await _timezone(ctx, user)
    hours = hours_in(ctx.policy.business_hours, zone)
    outside = outside_working_hours(hours, change.deployed_at or ctx.clock.now(), until)
    cid = format_change_id(change.id or 0)
    text = (f":eyes: You are monitoring *{cid}* until {slack_date(until)}: watch the logs "
            "and metrics (errors, latency, resources), then verify it or roll it back.")
    if outside:
        text += (f" That is outside your working hours ({describe(hours)}): stay "
                 "available, or hand the watch over and say so in the card's thread.")
    text += " " + await notify.card_link(ctx, change)
    try:
        async with editing(ctx, change.id or 0) as loaded:
            if loaded.change.watch.get("by") is None:
                loaded.change.watch = {"by": user, "until": until.isoformat(),
                                       "timezone": zone, "outside_hours": outside}
                await audit(loaded.session, ctx, loaded.change, "changebot", "watch_started",
                            by=user, until=until.isoformat(), timezone=zone,
                            outside_hours=outside)
                if outside:
                    await refresh_card(loaded.session, ctx, loaded.change)
    except NoSuchChange as missing:
        raise Skip(str(missing)) from None
    await notify.post_once(ctx, reminder, channel=user, text=text)


# --------------------------------------------------------------------------- rollback


async def on_rollback_started(session: AsyncSession, ctx: Context, change: Change,
                              user: str) -> None:
    """Arm the reminders of a rollback that takes longer than the policy says."""
    window = ctx.policy.windows.rollback
    started = change.rollback_started_at or ctx.clock.now()
    if not window:
        return
    for kind, due in ((ROLLBACK_OVERDUE, started + window),
                      (ROLLBACK_ESCALATION, started + 2 * window)):
        await notify.schedule(session, ctx, key=f"{kind}:{change.id}", kind=kind,
                              change_id=change.id, recipient=user, due_at=due)


async def on_rollback_finished(session: AsyncSession, ctx: Context, change: Change) -> None:
    await reminder_store.cancel(session, now=ctx.clock.now(), change_id=change.id or 0,
                                kinds=ROLLBACK_REMINDERS, reason="the rollback is finished")


async def chase_rollback(ctx: Context, reminder: Reminder) -> None:
    """A rollback still running after `windows.rollback`: its engineer is reminded; one
    window later the tech leads are told, and the card's thread says so."""
    try:
        async with editing(ctx, reminder.change_id or 0) as loaded:
            change = loaded.change
            if change.rollback_started_at is None or change.rollback_finished_at is not None:
                raise Skip("the rollback is finished")
            now = ctx.clock.now()
            running = spell(now - change.rollback_started_at)
            cid = format_change_id(change.id or 0)
            target = spell(ctx.policy.windows.rollback)
            by = reminder.recipient or change.author_id
            if reminder.kind == ROLLBACK_OVERDUE:
                await dm(loaded.session, ctx, change, by,
                         f":rewind: The rollback of *{cid}* started {running} ago and is not "
                         f"finished (the target is {target}). Press *Rollback finished* on the "
                         "card when it is done, or ask for help in its thread.",
                         key=f"rollback-overdue:{change.id}")
                await audit(loaded.session, ctx, change, "changebot", "rollback_overdue",
                            by=by, running_seconds=int((now - change.rollback_started_at)
                                                       .total_seconds()))
                return
            leads = sorted(m for m in await directory.group_members(
                ctx, ctx.policy.groups.tech_leads) if m != by)
            for lead in leads:
                await dm(loaded.session, ctx, change, lead,
                         f":rotating_light: The rollback of *{cid}: {escape(change.title)}* "
                         f"by <@{by}> started {running} ago and is still not finished (the "
                         f"target is {target}).", key=f"rollback-escalation:{change.id}:{lead}")
            await note(loaded.session, ctx, change,
                       f":rotating_light: The rollback has been running for {running} "
                       f"(target {target}). Tech leads told: {users(leads)}.",
                       key=f"rollback-escalation-note:{change.id}")
            await audit(loaded.session, ctx, change, "changebot", "rollback_escalated",
                        by=by, tech_leads=leads)
    except NoSuchChange as missing:
        raise Skip(str(missing)) from None
