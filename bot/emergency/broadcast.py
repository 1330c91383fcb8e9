"""The emergency broadcast: "post to #engineering" when an emergency is declared, and the
steps that matter after (deployed, approved, verified, rolled back, retrospective) told in
the broadcast's thread. Each message rides on a durable reminder row (bot.runtime.sweeper),
re-checked just before it is sent, and sent once across restarts and processes.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Status, format_change_id
from bot.change.work import audit, dm
from bot.context import Context
from bot.deployment.rules import ROLLBACK_METHODS, ROLLBACK_TRIGGERS
from bot.deployment.views import quote, spell
from bot.emergency import views as views
from bot.runtime.sweeper import NotYet, Payload, Skip
from bot.slack import outbox as notify
from bot.slack.text import slack_date
from storage import reminder_store
from storage.models import Change, Reminder

BROADCAST = "emergency_broadcast"
BROADCAST_NOTE = "emergency_note"


async def declared(session: AsyncSession, ctx: Context, change: Change) -> None:
    """A new emergency (not a revision of one): on the record as declared, announced in the
    engineering channel, and its author told what comes next."""
    if change.revision != 1:
        return
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
            update(Change).where(col(Change.id) == change_id)
            .values(broadcast_channel=channel, broadcast_ts=ts)
        )


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


async def send_broadcast_note(ctx: Context, reminder: Reminder) -> None:
    change = await notify.load_change(ctx, reminder)
    if change.broadcast_ts is None:
        async with ctx.db.session() as session:
            waiting = [r for r in await reminder_store.pending(session, change.id)
                       if r.kind == BROADCAST]
        if waiting:
            raise NotYet("the broadcast is not posted yet")
        raise Skip("the emergency was never broadcast")
    note = BroadcastNotePayload.model_validate(reminder.payload)
    await notify.post_once(ctx, reminder, channel=change.broadcast_channel or "",
                           thread_ts=change.broadcast_ts, text=note.text)


async def verified(session: AsyncSession, ctx: Context, change: Change, user: str) -> None:
    cid = format_change_id(change.id or 0)
    await broadcast_note(session, ctx, change,
                         f":white_check_mark: <@{user}> verified {cid} in production.",
                         key=f"emergency-verified:{change.id}")


async def rollback_started(session: AsyncSession, ctx: Context, change: Change,
                           user: str) -> None:
    cid = format_change_id(change.id or 0)
    rollback = change.rollback
    what = (f"{ROLLBACK_TRIGGERS.get(rollback.get('trigger') or '', '')} — "
            f"{ROLLBACK_METHODS.get(rollback.get('method') or '', '')}")
    due = change.retrospective_due_at
    still = f" The retrospective is still due {slack_date(due)}." if due else ""
    await broadcast_note(session, ctx, change,
                         f":rewind: <@{user}> is rolling back {cid}: {what}.{still}"
                         + quote(rollback.get("notes") or ""),
                         key=f"emergency-rollback:{change.id}")


async def rollback_finished(session: AsyncSession, ctx: Context, change: Change) -> None:
    await broadcast_note(session, ctx, change,
                         f":rewind: The rollback of {format_change_id(change.id or 0)} is "
                         "finished.", key=f"emergency-rollback-finished:{change.id}")


class BroadcastNotePayload(Payload):
    text: str
