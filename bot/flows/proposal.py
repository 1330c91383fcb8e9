"""Step 1 events: a change is proposed, revised, or opened from a pull request labelled
EMERGENCY on GitHub. Each runs in the transaction that recorded it (and its audit event)."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Category, format_change_id
from bot.change.work import dm, refresh_card, thread_note
from bot.context import Context
from bot.deployment import staging
from bot.emergency import broadcast
from bot.github import emergency_label, pull_requests
from bot.review import infrastructure, reminders
from bot.schedule import planning
from bot.security import routing as security
from storage.models import Change


def _emergency(change: Change) -> bool:
    return change.category == Category.emergency.value


async def _ask_for_review(session: AsyncSession, ctx: Context, change: Change) -> None:
    """What proposing and revising share, in the process's order: Step 2, the pull request
    read (an emergency's labelled); the planned time checked for conflicts; Step 3, the
    reviewers asked and reminded, the infrastructure team asked; Step 4, the security team
    asked when a trigger calls for a review."""
    if await pull_requests.on_proposal(session, ctx, change):
        await emergency_label.label_when_linked(session, ctx, change)
    await planning.flag_conflicts(session, ctx, change)
    await reminders.ask_reviewers(session, ctx, change)
    await reminders.schedule_peer(session, ctx, change)
    await infrastructure.ask_if_needed(session, ctx, change)
    await security.ask_if_needed(session, ctx, change)


async def proposed(session: AsyncSession, ctx: Context, change: Change) -> None:
    """A new change, in review:

    1. its card is posted in the changes channel (the thread notes hang on it);
    2. Step 2: its pull request, if linked, is read from GitHub (an emergency's is labelled);
    3. its planned time is checked against the other changes on the same service: conflicts
       are flagged on both cards and both authors told;
    4. Step 3: the requested reviewers are asked, and reminded later if they do not answer;
       the infrastructure team is asked for an infrastructure change;
    5. Step 4: the security team is asked when a trigger calls for a review;
    6. an emergency is declared: broadcast to engineering, its author told what follows.
    """
    await refresh_card(session, ctx, change)
    await _ask_for_review(session, ctx, change)
    if _emergency(change):
        await broadcast.declared(session, ctx, change)


async def revised(session: AsyncSession, ctx: Context, change: Change, *, by: str,
                  changed: Collection[str]) -> None:
    """A revision is a new change to review (its approvals no longer count):

    1. said in the card's thread;
    2. Step 2: its pull request is read again (a newly linked one is labelled if emergency);
    3. its planned time is checked again for conflicts (flagged on both cards, authors told
       once per pair);
    4. Step 3: the reviewers are asked again, their reminders re-armed;
    5. Step 4: the security review starts over when one is needed;
    6. Step 5: what staging validated no longer holds;
    7. the card shows the new revision.
    """
    await thread_note(session, ctx, change,
                      f"<@{by}> revised the change ({', '.join(changed)}): "
                      "approvals were reset and reviewers asked again.")
    await _ask_for_review(session, ctx, change)
    await staging.forget_staging(session, ctx, change)
    await refresh_card(session, ctx, change)


async def proposed_from_pull_request(session: AsyncSession, ctx: Context, change: Change, *,
                                    url: str, slack_author: str | None) -> None:
    """A change whose pull request's description said everything Step 1 asks: proposed as
    one from the Slack form is (card, PR read, reviewers, security team), and its author,
    when known in Slack, is told where the card is."""
    await proposed(session, ctx, change)
    if slack_author:
        await dm(session, ctx, change, slack_author,
                 f"Your pull request {url} follows the change template, so I opened "
                 f"*{format_change_id(change.id or 0)}* from it: reviewers were asked. Change "
                 "it with *Edit* on the card.", key=f"proposed-from-pr:{change.id}")


async def opened_from_github(session: AsyncSession, ctx: Context, change: Change, *,
                             url: str, slack_author: str | None) -> None:
    """An emergency opened from the EMERGENCY label on its pull request:

    1. its card is posted, and its author (when known in Slack) asked to complete it;
    2. Step 2: the pull request is read from GitHub (it is labelled already);
    3. Steps 3 and 4: review reminders, and the security team asked when needed;
    4. the emergency is declared, as one opened in Slack is.
    """
    await refresh_card(session, ctx, change)
    if slack_author:
        await dm(session, ctx, change, slack_author,
                 f"Your pull request {url} was labelled {emergency_label.LABEL} on GitHub, so "
                 f"I opened the emergency change *{format_change_id(change.id or 0)}*. Add "
                 "the impact and the rollback plan with *Edit* on the card.",
                 key=f"emergency-opened:{change.id}")
    await pull_requests.schedule_sync(session, ctx, change, why="emergency label")
    await reminders.schedule_peer(session, ctx, change)
    await security.ask_if_needed(session, ctx, change)
    await broadcast.declared(session, ctx, change)
