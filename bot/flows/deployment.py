"""Steps 5–8 and the emergency's retrospective: what follows each deployment step once the
use case (bot.deployment.*, bot.github.deployments, bot.emergency.emergencies) recorded it
and moved the status."""

from __future__ import annotations

from datetime import timedelta

from bot.change.facts import ChangeFacts
from bot.change.states import Category, format_change_id
from bot.change.work import Loaded, dm, refresh_card, thread_note
from bot.context import Context
from bot.deployment import monitoring
from bot.deployment.views import quote, spell
from bot.emergency import after_deployment, broadcast
from storage import reminder_store


def _emergency(loaded: Loaded) -> bool:
    return loaded.change.category == Category.emergency.value


async def staging_deployed(loaded: Loaded, ctx: Context, user: str) -> None:
    """Step 5 begins: said in the card's thread."""
    await thread_note(loaded.session, ctx, loaded.change,
                      f":test_tube: <@{user}> deployed it to staging.")
    await refresh_card(loaded.session, ctx, loaded.change)


async def staging_verified(loaded: Loaded, ctx: Context, user: str, validated: str) -> None:
    """Step 5 done, ready for production: what was validated, in the card's thread."""
    await thread_note(loaded.session, ctx, loaded.change,
                      f":test_tube: <@{user}> verified it in staging: {validated}")
    await refresh_card(loaded.session, ctx, loaded.change)


async def deployed(loaded: Loaded, ctx: Context, *, by: str, before: ChangeFacts) -> None:
    """In production, from Slack or reported by GitHub (whose thread note says how):

    1. the monitoring window's reminders are armed (Step 7);
    2. an emergency gets the gates it skipped on the record, its retrospective due and the
       reminders of a missing approval, and the broadcast's thread says it;
    3. the card shows it.
    """
    change = loaded.change
    if change.monitoring_ends_at is not None:
        await monitoring.schedule_window(loaded.session, ctx, change, change.monitoring_ends_at)
    if _emergency(loaded):
        await after_deployment.deployed(loaded, ctx, by, before)
    await refresh_card(loaded.session, ctx, change)


async def verified(loaded: Loaded, ctx: Context, user: str, checked: str) -> None:
    """Verified in production, completed: the window stops reminding, the thread (and an
    emergency's broadcast) say it, the card shows it."""
    session, change = loaded.session, loaded.change
    await reminder_store.cancel(session, now=ctx.clock.now(), change_id=change.id or 0,
                                kinds=monitoring.WINDOW_REMINDERS,
                                reason="the change was verified")
    await thread_note(session, ctx, change,
                      f":white_check_mark: <@{user}> verified it in production {checked}")
    if _emergency(loaded):
        await broadcast.verified(session, ctx, change, user)
    await refresh_card(session, ctx, change)


async def rollback_started(loaded: Loaded, ctx: Context, user: str, what: str,
                           notes: str) -> None:
    """Rolled back: nothing that waited on the deployment reminds anyone any more (the
    window, an emergency's missing approval); the thread, the author and an emergency's
    broadcast are told; the card shows it."""
    session, change = loaded.session, loaded.change
    await reminder_store.cancel(session, now=ctx.clock.now(), change_id=change.id or 0,
                                kinds=[*monitoring.WINDOW_REMINDERS,
                                       after_deployment.APPROVAL_MISSING],
                                reason="the change was rolled back")
    await thread_note(session, ctx, change,
                      f":rewind: <@{user}> started a rollback: {what}." + quote(notes))
    if change.author_id != user:
        await dm(session, ctx, change, change.author_id,
                 f"<@{user}> is rolling back *{format_change_id(change.id or 0)}*: {what}.",
                 key=f"rollback-started:{change.id}")
    if _emergency(loaded):
        await broadcast.rollback_started(session, ctx, change, user)
    await refresh_card(session, ctx, change)


async def rollback_finished(loaded: Loaded, ctx: Context, user: str, took: timedelta) -> None:
    session, change = loaded.session, loaded.change
    await thread_note(session, ctx, change,
                      f":rewind: <@{user}> finished the rollback: it took {spell(took)}.")
    if change.author_id != user:
        await dm(session, ctx, change, change.author_id,
                 f"The rollback of *{format_change_id(change.id or 0)}* is finished (it took "
                 f"{spell(took)}).", key=f"rollback-finished:{change.id}")
    if _emergency(loaded):
        await broadcast.rollback_finished(session, ctx, change)
    await refresh_card(session, ctx, change)


async def retrospective_recorded(loaded: Loaded, ctx: Context, user: str,
                                 before: ChangeFacts) -> None:
    """An emergency's retrospective is held: a change it closed stops being monitored, its
    reminders stop, the thread and the broadcast carry it, the card shows it."""
    session, change = loaded.session, loaded.change
    now = ctx.clock.now()
    if change.status != before.status.value:
        await reminder_store.cancel(session, now=now, change_id=change.id or 0,
                                    kinds=monitoring.WINDOW_REMINDERS,
                                    reason="closed by its retrospective")
    await reminder_store.cancel(session, now=now, change_id=change.id or 0,
                                kinds=[*after_deployment.RETROSPECTIVE_KINDS],
                                reason="the retrospective is recorded")
    retrospective = change.retrospective
    text = (f":memo: <@{user}> recorded the retrospective of "
            f"{format_change_id(change.id or 0)}: <{retrospective['document']}>\n"
            f"*Root cause*{quote(retrospective['root_cause'])}\n"
            f"*What follows*{quote(retrospective['follow_ups'])}")
    await thread_note(session, ctx, change, text)
    await broadcast.broadcast_note(session, ctx, change, text,
                                   key=f"retrospective-done:{change.id}")
    await refresh_card(session, ctx, change)
