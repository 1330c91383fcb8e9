"""Reading GitHub off the request path, as durable reminder kinds (sent by bot.runtime.sweeper).

- `github_sync`: read a change's pull request, the CI of its head commit and its reviews,
  and apply them (bot.flows.github). Scheduled by a proposal or `/change link`, the card's
  Refresh button, webhooks, and by itself: while CI is pending it polls (1, 2, 4 … 30
  minutes), while GitHub is unreachable it retries (15 s … 1 hour).
- `github_ci`: read the CI of one commit after a check or status webhook.
- `github_review`: record a review a webhook brought (the login is mapped to Slack first).

Each read is applied in one transaction on the locked change (`apply_read`, with the
rules of bot.github.pull_requests); a change has at most one follow-up read pending (`follow_up`).
A GitHub error never escapes: an unreachable GitHub (5xx, timeout, bad token, rate limit)
makes the CI gate "unknown — GitHub unreachable" and schedules a retry; a pull request that
does not exist or that the token cannot see is explained to the author, once.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import format_change_id
from bot.change.work import audit, dm, is_slack_user, lock, refresh_card
from bot.context import Context
from bot.flows import github as github_flow
from bot.github import accounts, codeowners, pull_requests
from bot.github.client import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    Review,
    parse_pr_url,
)
from bot.github.pull_requests import NOT_CONNECTED, SYNC, Read, ReviewBy
from bot.review.standing import Standing, standing
from bot.runtime.sweeper import Payload, Skip
from bot.slack import outbox
from bot.slack.outbox import load_change
from storage import github_store
from storage.github_store import FINISHED
from storage.models import Change, Reminder
from storage.repo import CLOSED_STATUSES

FOLLOW_UP = "github_followup:"  # key prefix of the one retry-or-poll sync a change may have


def _ready(ctx: Context, change: Change) -> None:
    if change.status in FINISHED:
        raise Skip(f"the change is {change.status}")
    if not change.pr_url:
        raise Skip("no pull request is linked")


async def sync(ctx: Context, reminder: Reminder) -> None:
    change = await load_change(ctx, reminder)
    _ready(ctx, change)
    if ctx.github is None:
        await mark_not_connected(ctx, change.id or 0)
        raise Skip(NOT_CONNECTED)
    url, attempt = change.pr_url or "", SyncPayload.model_validate(reminder.payload).attempt
    try:
        ref = parse_pr_url(url)
        pull = await ctx.github.get_pull(ref)
        ci = await ctx.github.get_ci(ref.full_name, pull.head_sha)
        reviews = await ctx.github.get_reviews(ref)
        if not change.pr_info.get("first_commit_at"):  # read once per pull request
            pull = replace(pull, first_commit_at=await ctx.github.first_commit_at(ref))
    except ValueError as exc:
        await mark_unreadable(ctx, change.id or 0, url, str(exc))
        raise Skip(str(exc)) from exc
    except GitHubError as exc:
        await _failed(ctx, change, reminder, exc, attempt)
        return
    people = await _people(ctx, reviews)
    # The pull request's author counts as an author of the change (segregation of duties).
    author = await accounts.slack_user_for(ctx, pull.author)
    owners = await codeowners.read(ctx, pull)
    await apply_read(ctx, change.id or 0, url, Read(pull, ci, people, author, owners),
                     reminder_id=reminder.id, attempt=attempt)


async def read_ci(ctx: Context, reminder: Reminder) -> None:
    change = await load_change(ctx, reminder)
    _ready(ctx, change)
    sha = CiPayload.model_validate(reminder.payload).sha
    if not sha or change.head_sha != sha:
        raise Skip("that commit is no longer the pull request's head")
    if ctx.github is None:
        raise Skip(NOT_CONNECTED)
    url = change.pr_url or ""
    try:
        ci = await ctx.github.get_ci(parse_pr_url(url).full_name, sha)
    except ValueError as exc:
        raise Skip(str(exc)) from exc
    except GitHubError as exc:
        await _failed(ctx, change, reminder, exc, 0)
        return
    await apply_read(ctx, change.id or 0, url, Read(ci=ci),
                                   reminder_id=reminder.id)


async def record_review(ctx: Context, reminder: Reminder) -> None:
    change = await load_change(ctx, reminder)
    _ready(ctx, change)
    data = ReviewPayload.model_validate(reminder.payload).review
    review = Review(
        login=data["login"], state=data["state"].upper(),
        submitted_at=datetime.fromisoformat(data["submitted_at"].replace("Z", "+00:00")),
        commit_id=data["commit_id"], id=int(data.get("id") or 0),
    )
    people = await _people(ctx, [review])
    await apply_read(ctx, change.id or 0, change.pr_url or "",
                                   Read(reviews=tuple(people)), reminder_id=reminder.id)


async def _failed(ctx: Context, change: Change, reminder: Reminder, exc: GitHubError,
                  attempt: int) -> None:
    url = change.pr_url or ""
    cannot_see = isinstance(exc, GitHubNotFound) or (
        isinstance(exc, GitHubAuthError) and exc.status == 403
    )
    if cannot_see:
        await mark_unreadable(ctx, change.id or 0, url, exc.message)
        raise Skip(exc.message)
    retry_at = None
    if isinstance(exc, GitHubRateLimited):
        retry_at = max(exc.reset_at, ctx.clock.now() + timedelta(seconds=30))
    await mark_unreachable(ctx, change.id or 0, url, exc.message,
                                         attempt=attempt, retry_at=retry_at,
                                         reminder_id=reminder.id)


async def _people(ctx: Context, reviews: list[Review]) -> tuple[ReviewBy, ...]:
    """Each reviewer's Slack user (when linked or found by email) and tech-lead standing."""
    users: dict[str, str | None] = {}
    roles: dict[str, Standing] = {}
    for review in reviews:
        if review.state == "COMMENTED" or review.login in users:
            continue
        user = users[review.login] = await accounts.slack_user_for(ctx, review.login)
        if user is not None and user not in roles:
            roles[user] = await standing(ctx, user)
    return tuple(
        ReviewBy.of(r, users.get(r.login), roles.get(users.get(r.login) or ""))
        for r in reviews
    )


# --------------------------------------------------------------------------- applying a read


async def apply_read(ctx: Context, change_id: int, url: str, read: Read, *,
                     reminder_id: int | None = None, attempt: int = 0) -> bool:
    """Apply a read to the change, unless the change links another PR by now."""
    async with ctx.db.session() as session:
        loaded = await lock(session, change_id)
        if loaded is None or loaded.change.pr_url != url:
            return False
        change = loaded.change
        await github_flow.pr_read(loaded, ctx, read)
        if change.ci_state != "unknown":
            change.github_error = None
        change.github_checked_at = ctx.clock.now()
        if change.ci_state in ("none", "pending") and change.status not in CLOSED_STATUSES:
            await follow_up(session, ctx, change, attempt=attempt, poll=True,
                            exclude=reminder_id)
        elif read.codeowners is not None and read.codeowners.retry:  # GitHub did not answer
            await follow_up(session, ctx, change, attempt=attempt, poll=False,
                            exclude=reminder_id)
        await refresh_card(session, ctx, change)
    ctx.sweeper.kick()
    return True


# Pending CI is read again after 1, 2, 4, … minutes, at most every 30 minutes, 60 times.
POLL_FIRST = timedelta(minutes=1)
POLL_MAX = timedelta(minutes=30)
POLLS = 60
# An unreachable GitHub is tried again after 15 s, 30 s, … at most every hour while it lasts.
RETRY_FIRST = timedelta(seconds=15)
RETRY_MAX = timedelta(hours=1)


def follow_up_delay(attempt: int, *, poll: bool) -> timedelta:
    first, cap = (POLL_FIRST, POLL_MAX) if poll else (RETRY_FIRST, RETRY_MAX)
    return min(first * 2 ** min(attempt, 20), cap)


async def follow_up(session: AsyncSession, ctx: Context, change: Change, *, attempt: int,
                    poll: bool, at: datetime | None = None, exclude: int | None = None) -> None:
    """Read the PR again later: the one follow-up a change has (a poll of pending CI, or a
    retry while GitHub is unreachable); an earlier due time wins over a later one."""
    if poll and attempt >= POLLS:
        return
    now = ctx.clock.now()
    due = at or now + follow_up_delay(attempt, poll=poll)
    payload = SyncPayload(why="poll" if poll else "retry", attempt=attempt + 1).model_dump()
    pending = await github_store.pending_reminder(session, change.id or 0, SYNC,
                                                  key_prefix=FOLLOW_UP, exclude=exclude,
                                                  unclaimed_at=now)
    if pending is not None:
        if pending.due_at > due:
            pending.due_at, pending.payload = due, payload
            session.add(pending)
        return
    await outbox.schedule(session, ctx, key=f"{FOLLOW_UP}{change.id}:{uuid.uuid4().hex}",
                          kind=SYNC, change_id=change.id, payload=payload, due_at=due)


async def mark_unreachable(ctx: Context, change_id: int, url: str, message: str, *,
                           attempt: int, retry_at: datetime | None = None,
                           reminder_id: int | None = None) -> None:
    """GitHub did not answer: the CI gate is unknown until it does; try again later."""
    async with ctx.db.session() as session:
        loaded = await lock(session, change_id)
        if loaded is None or loaded.change.pr_url != url:
            return
        change = loaded.change
        changed = change.ci_state != "unknown" or change.github_error != message
        if change.ci_state != "unknown":
            await audit(session, ctx, change, "changebot", "github_unreachable", error=message)
        change.ci_state = "unknown"
        change.ci_detail = {"sha": change.head_sha} if change.head_sha else {}
        change.github_error = f"{message} — retrying automatically"
        await follow_up(session, ctx, change, attempt=attempt, poll=False, at=retry_at,
                        exclude=reminder_id)
        if changed:
            await refresh_card(session, ctx, change)
    ctx.sweeper.kick()


async def mark_unreadable(ctx: Context, change_id: int, url: str, message: str) -> None:
    """The PR does not exist or the token cannot see it: say so on the card and to the
    author, once; reading again would not help until the link or the token changes."""
    async with ctx.db.session() as session:
        loaded = await lock(session, change_id)
        if loaded is None or loaded.change.pr_url != url:
            return
        change = loaded.change
        problem = "the pull request cannot be read"
        if change.ci_detail.get("problem") != problem:
            await audit(session, ctx, change, "changebot", "github_unreadable", url=url,
                        error=message)
        change.ci_state, change.ci_detail = "unknown", {"problem": problem}
        change.github_error = f"cannot read {url}: {message}"
        cid = format_change_id(change_id)
        if is_slack_user(change.author_id):
            digest = hashlib.sha256(f"{url}|{message}".encode()).hexdigest()[:12]
            await dm(session, ctx, change, change.author_id,
                     f"I can't read the pull request linked to *{cid}* ({url}): {message}. "
                     f"Check the link, and fix it with `/change link {cid} <url>`; if the "
                     "repository is private, the bot's GitHub token needs access to it.",
                     key=f"github-unreadable:{change_id}:{digest}")
        await refresh_card(session, ctx, change)
    ctx.sweeper.kick()


async def mark_not_connected(ctx: Context, change_id: int) -> None:
    async with ctx.db.session() as session:
        loaded = await lock(session, change_id)
        if loaded is None or not loaded.change.pr_url:
            return
        if loaded.change.ci_detail.get("problem", "").startswith(NOT_CONNECTED):
            return
        pull_requests.note_not_connected(loaded.change)
        await refresh_card(session, ctx, loaded.change)
    ctx.sweeper.kick()


class SyncPayload(Payload):
    why: str | None = None
    attempt: int = 0


class CiPayload(Payload):
    sha: str | None = None


class ReviewPayload(Payload):
    review: dict[str, Any]
