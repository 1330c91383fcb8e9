"""Direct messages that ask someone to act on a change (review it, verify it, record its
retrospective) stop asking once the change has moved on: whenever the card is brought up to
date, each such DM already sent is updated in place — what it said is kept, its buttons go,
and a line says why nothing is needed any more."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from bot.change.facts import ChangeFacts
from bot.change.rows import facts_of
from bot.change.states import Status, format_change_id
from bot.context import Context
from bot.emergency.rules import awaits_emergency_approval
from bot.policy import Policy
from bot.review.rules import approvals_met
from bot.security.rules import awaits_security_review
from bot.slack.outbox import Posted, PostedPayload
from storage import reminder_store, repo
from storage.models import Change, Reminder

log = logging.getLogger(__name__)


def _moved_on(change: Change) -> str:
    return f"{format_change_id(change.id or 0)} is {Status(change.status).label}"


def _reviewing(change: Change, _facts: ChangeFacts, _policy: Policy) -> str | None:
    return None if change.status in (Status.proposed, Status.in_review) else _moved_on(change)


def _security_review(change: Change, facts: ChangeFacts, _policy: Policy) -> str | None:
    if awaits_security_review(facts):
        return None
    cid = format_change_id(change.id or 0)
    if facts.security_approved_by:
        return f"the security review of {cid} is approved"
    if facts.security_override_by:
        return f"the security review of {cid} was overridden"
    if facts.security_changes_requested:
        return f"the security team requested changes to {cid}"
    return _moved_on(change)


def _emergency_approval(change: Change, facts: ChangeFacts, policy: Policy) -> str | None:
    if awaits_emergency_approval(facts, policy):
        return None
    return f"{format_change_id(change.id or 0)} is approved" if approvals_met(facts, policy) \
        else _moved_on(change)


def _monitoring(change: Change, _facts: ChangeFacts, _policy: Policy) -> str | None:
    return None if change.status == Status.monitoring else _moved_on(change)


def _retrospective(change: Change, _facts: ChangeFacts, _policy: Policy) -> str | None:
    if change.retrospective_done_at is None:
        return None
    return f"the retrospective of {format_change_id(change.id or 0)} is recorded"


# What each kind of DM asks for, as "why it no longer applies" (None: it still does). A
# plain `dm` is told by its key's first word (`review-request:…`).
NO_LONGER: dict[str, Callable[[Change, ChangeFacts, Policy], str | None]] = {
    "review-request": _reviewing,  # Step 3: the review request, and its reminder
    "review_reminder": _reviewing,
    "security-route": _security_review,  # Step 4: the security team asked, reminded
    "security-reminder": _security_review,
    "monitoring_ended": _monitoring,  # Step 7: verify or roll back
    "emergency-approval": _emergency_approval,  # an emergency's missing approval
    "retrospective_warning": _retrospective,  # an emergency's retrospective
    "retrospective_due": _retrospective,
}


def topic(reminder: Reminder) -> str:
    return reminder.key.split(":")[0] if reminder.kind == "dm" else reminder.kind


def retired_message(posted: Posted, why: str) -> dict:
    blocks = list(posted.blocks or [
        {"type": "section", "text": {"type": "mrkdwn", "text": posted.text or "…"}}])
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f":heavy_minus_sign: Nothing to do here any more: {why}."}]})
    return {"text": posted.text or why, "blocks": blocks}


async def retire_stale_dms(ctx: Context, change: Change) -> None:
    """Update the change's DMs whose request no longer applies (once each)."""
    async with ctx.db.session() as session:
        sent = await reminder_store.posted_of(session, change.id or 0)
        if not sent:
            return
        facts = facts_of(change, await repo.approvals_of(session, change.id or 0))
    for reminder in sent:
        no_longer = NO_LONGER.get(topic(reminder))
        why = no_longer(change, facts, ctx.policy) if no_longer else None
        if why is None:
            continue
        posted = PostedPayload.model_validate(reminder.payload).posted
        try:
            await ctx.slack.chat_update(channel=posted.channel, ts=posted.ts,
                                        **retired_message(posted, why))
        except SlackApiError as exc:  # deleted meanwhile: nothing left to update
            log.warning("could not update the DM of %s: %s", reminder.key,
                        exc.response.get("error"))
        async with ctx.db.session() as session:
            await reminder_store.retire(session, reminder)
