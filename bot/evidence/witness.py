"""The audit chain's head witnessed outside the database: checkpoints posted to Slack.

Whoever can write the database can cut the chain's tail, or (holding the key) rewrite it
whole, and the result still checks out on its own. So on a schedule (policy
`audit.checkpoint`, default 1 h) and at every evidence export, the bot posts the head
hash, the number of events and the time to the audit channel (`channels.audit`, else the
changes channel), with message metadata so that `changebot audit verify --witness slack`
can read them back (`read_checkpoints`) and check each against the chain
(bot.evidence.verification). Each checkpoint posted is also recorded in the chain, so the
evidence pack names the checkpoints of its period.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, select

from bot.context import Context
from bot.evidence.records import Checkpoint
from bot.policy import Policy
from bot.runtime.sweeper import Payload
from bot.slack import outbox
from storage import audit_chain, reminder_store, repo
from storage.db import Database
from storage.models import AuditEvent, Reminder

log = logging.getLogger(__name__)

CHECKPOINT = "audit_checkpoint"  # the reminder kind, and the audit action that records one
METADATA_TYPE = "changebot_audit_checkpoint"


def audit_channel(policy: Policy) -> str | None:
    return policy.channels.audit or policy.channels.changes


def next_due(now: datetime, every: timedelta) -> datetime:
    """The next whole multiple of `every` since the epoch: every process agrees on it, so
    the reminder key is the same for all and one checkpoint is posted per period."""
    step = max(int(every.total_seconds()), 60)
    return datetime.fromtimestamp((int(now.timestamp()) // step + 1) * step, UTC)


async def keep_scheduled(ctx: Context) -> None:
    """Make sure the next scheduled checkpoint is a row (at start, and after each one)."""
    now = ctx.clock.now()
    due = next_due(now, ctx.policy.audit.checkpoint)
    async with ctx.db.session() as session:
        await outbox.schedule(session, ctx, key=f"{CHECKPOINT}:{due.isoformat()}",
                              kind=CHECKPOINT, due_at=due)


async def request_checkpoint(db: Database, now: datetime, why: str) -> None:
    """A checkpoint due now, posted by the running bot's sweeper (an export from the
    command line, which has no Slack of its own, nor the sweeper's table of kinds: the
    payload is built from its model)."""
    async with db.session() as session:
        await reminder_store.schedule(session, key=f"{CHECKPOINT}:{why}:{now.isoformat()}",
                                      kind=CHECKPOINT, due_at=now, now=now,
                                      payload=CheckpointPayload(why=why).model_dump())


async def send_checkpoint(ctx: Context, reminder: Reminder) -> None:
    requested = CheckpointPayload.model_validate(reminder.payload).why
    await checkpoint(ctx, why=requested or "scheduled")
    if requested is None:  # a scheduled one: schedule the next
        await keep_scheduled(ctx)


async def checkpoint(ctx: Context, *, why: str) -> Checkpoint | None:
    """Post the chain's head to the audit channel and record it; nothing when nothing was
    written since the last checkpoint (it still witnesses the head)."""
    channel = audit_channel(ctx.policy)
    if not channel:
        log.warning("no audit channel (channels.audit or channels.changes): no checkpoint")
        return None
    async with ctx.db.snapshot() as session:
        head, events = await audit_chain.chain_state(session)
        last = (await session.exec(
            select(AuditEvent).where(AuditEvent.action == CHECKPOINT)
            .order_by(col(AuditEvent.id).desc()).limit(1))).first()
    if events == 0 or (last is not None and last.hash == head):
        return None
    now = ctx.clock.now()
    posted = await ctx.slack.chat_postMessage(
        channel=channel, text=checkpoint_text(head, events, now, why), unfurl_links=False,
        metadata={"event_type": METADATA_TYPE,
                  "event_payload": {"head": head, "events": events, "at": now.isoformat()}},
    )
    found = Checkpoint(head, events, now, posted["channel"], posted["ts"])
    async with ctx.db.session() as session:
        await repo.add_audit(session, at=now, actor="changebot", action=CHECKPOINT, detail={
            "head": head, "events": events, "channel": found.channel, "ts": found.ts,
            "why": why,
        })
    return found


def checkpoint_text(head: str, events: int, at: datetime, why: str) -> str:
    when = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f":lock: Audit checkpoint ({why}): {events} events, head `{head}` at {when}. "
            "`changebot audit verify --witness slack` checks the audit log against these.")


def recorded(event: AuditEvent) -> Checkpoint:
    d = event.detail
    return Checkpoint(str(d.get("head")), int(d.get("events") or 0), event.at,
                      d.get("channel"), d.get("ts"))


# --------------------------------------------------------------------------------------
# Reading them back
# --------------------------------------------------------------------------------------


class WitnessUnreadable(Exception):  # noqa: N818 - says what it is
    """Slack would not give the audit channel's history: one line for the operator."""


async def read_checkpoints(client: AsyncWebClient, channel: str) -> list[Checkpoint]:
    """Every checkpoint the bot posted in `channel`, oldest first."""
    try:
        me: dict[str, Any] = dict((await client.auth_test()).data)  # type: ignore[arg-type]
        found: list[Checkpoint] = []
        cursor = None
        while True:
            page = await client.conversations_history(
                channel=channel, include_all_metadata=True, limit=200, cursor=cursor)
            messages: list[dict[str, Any]] = page.get("messages") or []
            found += [c for m in messages if (c := _parse(m, me, channel))]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else str(exc)
        raise WitnessUnreadable(
            f"cannot read the audit channel {channel} in Slack ({error}): invite the bot "
            "to it and give it the channels:history (groups:history if private) scope"
        ) from None
    except OSError as exc:
        raise WitnessUnreadable(f"cannot reach Slack to read {channel}: {exc}") from None
    return sorted(found, key=lambda c: c.at)


def _parse(message: dict[str, Any], me: dict[str, Any], channel: str) -> Checkpoint | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != METADATA_TYPE:
        return None
    # Only the bot's own messages witness anything.
    if message.get("user") != me.get("user_id") and message.get("bot_id") != me.get("bot_id"):
        return None
    payload = metadata.get("event_payload") or {}
    try:
        return Checkpoint(str(payload["head"]), int(payload["events"]),
                          datetime.fromisoformat(str(payload["at"])), channel,
                          message.get("ts"))
    except (KeyError, TypeError, ValueError):
        return None


class CheckpointPayload(Payload):
    why: str | None = None
