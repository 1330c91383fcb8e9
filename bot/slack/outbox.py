"""Slack messages that must not be lost nor sent twice, carried by reminder rows.

The core schedules a row (`card`, `dm`, `thread`, …) in the same transaction as the event;
the sweeper sends it (`dm` and `thread` here, `card` by bot.change.card; the table of every
kind is bot.flows.kinds). `post_once` tags each message with our key in its metadata, so that a
retry after a crash between Slack's ok and our "sent" mark finds the message instead of
posting it again.

The crash-after-send window, and what remains of it. `chat.postMessage` has no idempotency
key, so the order is: the row is committed with the event, claimed (a short lease, renewed
while the work runs), posted, then marked sent. A crash before the post loses nothing (the
claim expires and the row is sent then); a crash after Slack's ok but before the mark is
caught on the retry by looking for our key (attempts > 1 only, so the first send costs no
extra call). A post answered by a 5xx or a lost connection is not simply repeated either:
we look for our key first, as after a crash. Card updates (`chat.update`) and handlers that
only schedule other rows (unique keys) are idempotent anyway. A duplicate is still possible
when:
- the retry looks before Slack shows the message in the history;
- more than 100 newer messages in the channel (200 replies in the thread) pushed ours out
  of the page we read;
- the lookup itself fails (error, missing scope): posting again is preferred to losing it;
- a live process cannot renew its lease (its event loop blocked, the database refusing
  the heartbeat for a whole lease): another process takes the row over and both may post.
A card posted twice is found after such a retry, and the extra one points to the real one.
Ephemeral answers and modals are not carried by rows: they answer one request, once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from bot.context import Context
from bot.runtime.sweeper import NotYet, Payload, Skip
from bot.slack.client import may_have_been_done, posting_client, rate_limited_for
from storage import reminder_store, repo
from storage.models import Change, Reminder

METADATA_TYPE = "changebot_notification"
# The change's public record (its card and the notes in its thread): what was said about an
# event still goes out when the change is cancelled.
RECORD_KINDS = ("card", "thread")


POST_TRIES = 3
RETRY_PAUSE = 0.2  # seconds, times the attempt: Slack's 5xx are brief


async def post_once(
    ctx: Context, reminder: Reminder, *, channel: str, text: str,
    blocks: list[dict] | None = None, thread_ts: str | None = None,
) -> dict:
    """chat.postMessage, unless an earlier attempt of this reminder already got through.
    The answer has `retried` True when an attempt failed in a way Slack may have posted.
    A channel at Slack's pace, or held back by a 429, hands the row back for later.
    Where a DM went is kept: it may ask for something that stops applying (bot.change.dms
    updates it then)."""
    posted = await _post_once(ctx, reminder, channel=channel, text=text, blocks=blocks,
                              thread_ts=thread_ts)
    if reminder.recipient and reminder.id is not None:
        kept = [b for b in blocks or [] if b.get("type") != "actions"]
        async with ctx.db.session() as session:
            await reminder_store.note_posted(session, reminder, Posted(
                channel=posted["channel"], ts=posted["ts"], text=text, blocks=kept,
            ).model_dump())
    return posted


async def _post_once(
    ctx: Context, reminder: Reminder, *, channel: str, text: str,
    blocks: list[dict] | None, thread_ts: str | None,
) -> dict:
    if reminder.attempts > 1:
        found = await find_posted(ctx, channel, reminder.key, thread_ts)
        if found is not None:
            return {**found, "retried": True}
    client = posting_client(ctx.slack)
    pacer = ctx.sweeper.pacer
    for attempt in range(1, POST_TRIES + 1):
        wait = pacer.take("chat.postMessage", channel)
        if wait > 0:
            raise NotYet("at Slack's pace for this channel", after=timedelta(seconds=wait))
        try:
            response = await client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": reminder.key}},
                unfurl_links=False,
            )
            return {"channel": response["channel"], "ts": response["ts"], "retried": attempt > 1}
        except Exception as error:
            retry_after = rate_limited_for(error)
            if retry_after is not None:  # Slack did nothing: only this channel waits
                pacer.hold("chat.postMessage", channel, retry_after)
                raise NotYet("Slack asked to slow down (429)",
                             after=timedelta(seconds=max(retry_after, 1))) from None
            if attempt == POST_TRIES or not may_have_been_done(error):
                raise
        await asyncio.sleep(RETRY_PAUSE * attempt)
        found = await find_posted(ctx, channel, reminder.key, thread_ts)
        if found is not None:
            return {**found, "retried": True}
    raise AssertionError("unreachable: the last attempt returns or raises")


async def find_posted(
    ctx: Context, channel: str, key: str, thread_ts: str | None
) -> dict | None:
    found = await find_all_posted(ctx, channel, key, thread_ts)
    return found[0] if found else None


async def find_all_posted(
    ctx: Context, channel: str, key: str, thread_ts: str | None
) -> list[dict]:
    """Our messages carrying `key`, newest first (empty when we cannot look)."""
    try:
        if channel.startswith("U"):  # a DM addressed by user: look in the DM channel
            channel = (await ctx.slack.conversations_open(users=channel))["channel"]["id"]
        if thread_ts:
            page = await ctx.slack.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
            )
        else:
            page = await ctx.slack.conversations_history(
                channel=channel, include_all_metadata=True, limit=100
            )
    except SlackApiError:
        return []  # cannot look: sending again is the lesser evil than losing it
    found: list[dict] = []
    messages: list[dict] = page.get("messages", [])
    for message in messages:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("key") == key:
            found.append({"channel": channel, "ts": message["ts"]})
    return found


async def point_extra_cards_to(ctx: Context, change: Change, key: str, real: dict) -> int:
    """After a retried post: any other copy of the card is turned into a pointer to the
    real one, without buttons, so nobody acts on an orphan."""
    extras = [m for m in await find_all_posted(ctx, real["channel"], key, None)
              if m["ts"] != real["ts"]]
    if not extras:
        return 0
    link = await ctx.slack.chat_getPermalink(channel=real["channel"], message_ts=real["ts"])
    text = (f"This copy of CHG-{change.id} was posted twice by mistake: "
            f"<{link['permalink']}|the card is here>.")
    for extra in extras:
        await ctx.slack.chat_update(channel=extra["channel"], ts=extra["ts"], text=text,
                                    blocks=[])
    return len(extras)


async def schedule(
    session, ctx: Context, *, key: str, kind: str, change_id: int | None = None,
    recipient: str | None = None, payload: dict | None = None, due_at=None,
) -> bool:
    """Schedule a notification in the caller's transaction (due now unless told); a payload
    not of its kind's shape raises pydantic's ValidationError here, before anything is kept."""
    ctx.sweeper.check_payload(kind, payload)
    now = ctx.clock.now()
    return await reminder_store.schedule(
        session, key=key, kind=kind, due_at=due_at or now, now=now, change_id=change_id,
        recipient=recipient, payload=payload,
    )


async def load_change(ctx: Context, reminder: Reminder) -> Change:
    async with ctx.db.session() as session:
        change = await repo.get_change(session, reminder.change_id or 0)
    if change is None:
        raise Skip("the change no longer exists")
    return change


async def send_dm(ctx: Context, reminder: Reminder) -> None:
    """A direct message; `payload.link_card` appends a link to the change's card."""
    dm = DmPayload.model_validate(reminder.payload)
    text = dm.text
    if dm.link_card and reminder.change_id:
        change = await load_change(ctx, reminder)
        text += " " + await card_link(ctx, change)
    unless = dm.unless_status
    if unless and reminder.change_id:
        change = await load_change(ctx, reminder)
        if change.status in unless:
            raise Skip(f"the change is {change.status}")
    await post_once(
        ctx, reminder, channel=reminder.recipient or "", text=text, blocks=dm.blocks,
    )


async def send_thread_note(ctx: Context, reminder: Reminder) -> None:
    """A note in the card's thread (the change's running log for the team)."""
    note = ThreadNotePayload.model_validate(reminder.payload)
    change = await load_change(ctx, reminder)
    if change.card_ts is None:
        raise NotYet("the card is not posted yet")
    await post_once(
        ctx, reminder, channel=change.card_channel or "", thread_ts=change.card_ts,
        text=note.text, blocks=note.blocks,
    )


async def card_link(ctx: Context, change: Change) -> str:
    if change.card_ts is None or change.card_channel is None:
        raise NotYet("the card is not posted yet")
    permalink = await ctx.slack.chat_getPermalink(
        channel=change.card_channel, message_ts=change.card_ts
    )
    return f"<{permalink['permalink']}|Open CHG-{change.id}>"


class Posted(Payload):
    """Where a message to one person went, and what it said (kept under `posted` on its
    row, whatever its kind: bot.change.dms updates it once it no longer applies)."""

    channel: str
    ts: str
    text: str = ""
    blocks: list[dict] = []


class PostedPayload(Payload):
    """The bookkeeping part of a sent row's payload."""

    posted: Posted


class DmPayload(Payload):
    """`dm`: the text, whether to link the card, and statuses in which it is no longer sent."""

    text: str
    link_card: bool = False
    unless_status: list[str] | None = None
    blocks: list[dict] | None = None


class ThreadNotePayload(Payload):
    """`thread`: a note in the card's thread."""

    text: str
    blocks: list[dict] | None = None
