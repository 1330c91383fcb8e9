"""Step 4: a member of the security team says a review asked for by keywords alone is not
needed ("No security review needed"), with a reason, on the record.

Keywords are a guess from words: "tokens" in a change to the design system's colour tokens
asks for a review nobody needs. A ticked checkbox, a changed security path or the high-risk
category are the author's or the code's own statement: a review they ask for is never
dismissed here (a tech lead may still override it, bot.security.review.override).

A dismissal is an `Approval` of kind "security" and decision "dismissed" on the current
revision, and the change stops needing the review (`security_required` false), so every
reader (gates, buttons, reminders, the evidence pack) sees it without knowing about
dismissals. A revision asks again: its triggers are new.

How it hooks in (kept out of the card and of the review flow while those are rewritten):
- `dismiss_buttons` is a card button provider; it needs the card input to carry the
  change's triggers (`dismissible` decides from them).
- `dismissal_notes` is a card note provider (who dismissed it, and why).
- `bot.security.review.reassess` recomputes the triggers from new evidence (a PR's files);
  it must call `holds` after, and keep `security_required` false while a dismissal holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.change.decisions import ALLOWED, Decision, refuse
from bot.change.facts import ChangeFacts
from bot.change.states import format_change_id
from bot.change.work import (
    Outcome,
    editing,
    refused,
    use_case,
)
from bot.context import Context
from bot.security import triggers as security
from bot.security.review import could_not_check, in_security_group, settle_without_review
from bot.security.rules import may_decide_security
from bot.security.views import (
    DISMISSED,
    DISMISSIBLE_SOURCES,
    dismissible,
)
from bot.slack.text import escape

DISMISS_CALLBACK = "security_dismiss_reason"


def may_dismiss(facts: ChangeFacts, triggers: Sequence[dict[str, Any]], user: str,
                in_security_group: bool) -> Decision:
    """Who may say the review is not needed: whoever may decide it (bot.security.rules),
    and only when keywords alone asked for it."""
    decision = may_decide_security(facts, user, in_security_group)
    if not decision.allowed:
        return decision
    if not dismissible(triggers):
        fixed = [t for t in triggers if t.get("source") not in DISMISSIBLE_SOURCES]
        found = security.summary([security.Trigger(t["source"], t["reason"]) for t in fixed])
        return refuse(f"Only a review asked for by keywords alone can be dismissed; this one "
                      f"is also asked for by {found}. Approve it or request changes.")
    return ALLOWED


@use_case
async def check_dismisser(ctx: Context, change_id: int, user: str) -> Outcome:
    """May `user` dismiss this review now? (Asked again when they submit the reason.)"""
    in_group = await in_security_group(ctx, user)
    if in_group is None:
        return could_not_check()
    async with editing(ctx, change_id) as loaded:
        decision = may_dismiss(loaded.facts, loaded.change.security_triggers, user, in_group)
        if not decision.allowed:
            return refused(decision.reason)
        return Outcome(True, "", loaded.change)


@use_case
async def dismiss(ctx: Context, change_id: int, user: str, reason: str) -> Outcome:
    reason = reason.strip()
    if not reason:
        return refused("Say why no security review is needed: it is kept on the record.")
    in_group = await in_security_group(ctx, user)
    if in_group is None:
        return could_not_check()
    cid = format_change_id(change_id)
    try:
        async with editing(ctx, change_id) as loaded:
            change = loaded.change
            decision = may_dismiss(loaded.facts, change.security_triggers, user, in_group)
            if not decision.allowed:
                return refused(decision.reason)
            change.security_required = False
            await settle_without_review(
                loaded, ctx, user, DISMISSED, reason, "security_review_dismissed",
                note=f"Security review not needed, says <@{user}> (security team): "
                f"{escape(reason)}")
    except IntegrityError:
        return refused(f"You have already decided the security review of {cid}.")
    return Outcome(True, f"You said {cid} needs no security review. It is on the record with "
                         "your reason.", change)
