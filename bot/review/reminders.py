"""Reviews that wait (Steps 3 and 4): one reminder, then a note in the card's thread.

A requested reviewer, or the security team, that has not answered within
`windows.review_reminder` of business time gets one direct message; `windows.review_escalation`
of business time later, the card's thread gets a note naming who still has to answer.

The rows are scheduled in the proposal or revision transaction, their keys carry the
revision (a revision re-arms them), and each is checked again just before it is sent: a
person who has decided, a change that moved on, was revised or cancelled, is not reminded.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.facts import ChangeFacts
from bot.change.rows import facts_of
from bot.change.states import format_change_id
from bot.change.work import dm
from bot.context import Context
from bot.deployment.business_hours import add_business_time
from bot.review.rules import awaits_peer_review
from bot.runtime.snooze import snooze_actions, snoozed_note
from bot.runtime.sweeper import NotYet, Payload, Skip
from bot.security.rules import awaits_security_review
from bot.slack import outbox as notify
from bot.slack.blocks import to_dicts
from bot.slack.text import clip, slack_date, users
from storage import reminder_store, repo
from storage.models import Change, Reminder

PEER_REMINDER = "review_reminder"
PEER_ESCALATION = "review_escalation"
SECURITY_REMINDER = "security_reminder"
SECURITY_ESCALATION = "security_escalation"
PEER_KINDS = (PEER_REMINDER, PEER_ESCALATION)
SECURITY_KINDS = (SECURITY_REMINDER, SECURITY_ESCALATION)


def deadlines(ctx: Context, start: datetime) -> tuple[datetime, datetime]:
    """When to remind, and when to write in the thread, for a review asked at `start`."""
    hours, windows = ctx.policy.business_hours, ctx.policy.windows
    remind = add_business_time(hours, start, windows.review_reminder)
    return remind, add_business_time(hours, remind, windows.review_escalation)


async def ask_reviewers(session: AsyncSession, ctx: Context, change: Change) -> None:
    """A direct message to each requested reviewer, for this revision."""
    cid = format_change_id(change.id or 0)
    verb = "asked you to review" if change.revision == 1 else "revised and asks you to review"
    for reviewer in change.reviewers:
        await dm(session, ctx, change, reviewer,
                 f"<@{change.author_id}> {verb} *{cid}: {change.title}*.",
                 key=f"review-request:{change.id}:r{change.revision}:{reviewer}")


async def schedule_peer(session: AsyncSession, ctx: Context, change: Change) -> None:
    """On a proposal or revision: arm the reminders of the requested reviewers."""
    now = ctx.clock.now()
    await reminder_store.cancel(session, now=now, change_id=change.id or 0, kinds=PEER_KINDS,
                                reason="the change was revised")
    if not change.reviewers:
        return
    remind, escalate = deadlines(ctx, now)
    payload = {"revision": change.revision, "since": now.isoformat()}
    tag = f"{change.id}:r{change.revision}"
    for reviewer in change.reviewers:
        await notify.schedule(session, ctx, key=f"review-reminder:{tag}:{reviewer}",
                              kind=PEER_REMINDER, change_id=change.id, recipient=reviewer,
                              payload=payload, due_at=remind)
    await notify.schedule(session, ctx, key=f"review-escalation:{tag}", kind=PEER_ESCALATION,
                          change_id=change.id, payload=payload, due_at=escalate)


async def schedule_security(session: AsyncSession, ctx: Context, change: Change,
                            tag: str) -> None:
    """Arm the reminders of the security team, counted from now: the moment the team was
    reached (bot.security.routing; bot.security.review cancels them when the review is decided)."""
    now = ctx.clock.now()
    remind, escalate = deadlines(ctx, now)
    payload = {"revision": change.revision, "since": now.isoformat()}
    await notify.schedule(session, ctx, key=f"security-reminder:{tag}", kind=SECURITY_REMINDER,
                          change_id=change.id, payload=payload, due_at=remind)
    await notify.schedule(session, ctx, key=f"security-escalation:{tag}",
                          kind=SECURITY_ESCALATION, change_id=change.id, payload=payload,
                          due_at=escalate)


async def load_current(ctx: Context, reminder: Reminder) -> tuple[Change, ChangeFacts]:
    """The change of a reminder as it is now, whatever its revision; Skip once it is gone."""
    async with ctx.db.session() as session:
        change = await repo.get_change(session, reminder.change_id or 0)
        if change is None:
            raise Skip("the change no longer exists")
        approvals = await repo.approvals_of(session, change.id or 0)
    return change, facts_of(change, approvals)


async def load_facts(ctx: Context, reminder: Reminder) -> tuple[Change, ChangeFacts]:
    """The change of a reminder as it is now; Skip when it was revised since."""
    change, facts = await load_current(ctx, reminder)
    if change.revision != RevisionPayload.model_validate(reminder.payload).revision:
        raise Skip(f"the change was revised (now revision {change.revision})")
    return change, facts


def _since(reminder: Reminder) -> str:
    since = ReviewReminderPayload.model_validate(reminder.payload).since
    return slack_date(datetime.fromisoformat(since))


async def remind_reviewer(ctx: Context, reminder: Reminder) -> None:
    change, facts = await load_facts(ctx, reminder)
    reviewer = reminder.recipient or ""
    if not awaits_peer_review(facts, ctx.policy, reviewer):
        raise Skip("the reviewer answered, or the change no longer waits for approvals")
    cid = format_change_id(change.id or 0)
    link = await notify.card_link(ctx, change)
    text = (f":wave: Reminder: <@{change.author_id}> asked you on {_since(reminder)} to review "
            f"*{cid}: {change.title}*, and it is still waiting. Approve or reject it on the "
            f"card. {link}")
    blocks = to_dicts([SectionBlock(text=MarkdownTextObject(text=clip(text))),
                       snooze_actions("review", change.id or 0)])
    await notify.post_once(ctx, reminder, channel=reviewer, text=text, blocks=blocks)


async def escalate_reviewers(ctx: Context, reminder: Reminder) -> None:
    change, facts = await load_facts(ctx, reminder)
    waiting = [r for r in change.reviewers if awaits_peer_review(facts, ctx.policy, r)]
    if not waiting:
        raise Skip("every requested reviewer answered, or the change no longer waits")
    await _thread(ctx, reminder, change,
                  f":hourglass_flowing_sand: Still waiting for {users(waiting)}: asked to "
                  f"review on {_since(reminder)} and reminded, no answer yet."
                  + snoozed_note(ReviewReminderPayload.model_validate(reminder.payload).snoozed))


async def _thread(ctx: Context, reminder: Reminder, change: Change, text: str) -> None:
    if change.card_ts is None:
        raise NotYet("the card is not posted yet")
    await notify.post_once(ctx, reminder, channel=change.card_channel or "",
                           thread_ts=change.card_ts, text=text)


# The security team's reminder DM is sent by bot.security.routing, which knows its members.
async def escalate_security(ctx: Context, reminder: Reminder) -> None:
    change, facts = await load_facts(ctx, reminder)
    if not awaits_security_review(facts):
        raise Skip("the security review was decided, or the change no longer waits for it")
    await _thread(ctx, reminder, change,
                  f":hourglass_flowing_sand: <!subteam^{ctx.policy.groups.security}> the "
                  f"security review is still waiting: asked on {_since(reminder)} and "
                  "reminded, no decision yet."
                  + snoozed_note(ReviewReminderPayload.model_validate(reminder.payload).snoozed))


class RevisionPayload(Payload):
    """A row about one revision of the change (the security route and the reminders)."""

    revision: int


class ReviewReminderPayload(RevisionPayload):
    """Peer and security reminders: the revision they are about, since when it waits, and
    who snoozed the escalation."""

    since: str
    snoozed: list = []
