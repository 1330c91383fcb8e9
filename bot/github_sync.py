"""Reading GitHub off the request path, as durable reminder kinds (sent by bot.sweeper).

- `github_sync`: read a change's pull request, the CI of its head commit and its reviews,
  and apply them (bot.pull_requests). Scheduled by a proposal or `/change link`, the card's
  Refresh button, webhooks, and by itself: while CI is pending it polls (1, 2, 4 … 30
  minutes), while GitHub is unreachable it retries (15 s … 1 hour).
- `github_ci`: read the CI of one commit after a check or status webhook.
- `github_review`: record a review a webhook brought (the login is mapped to Slack first).

A GitHub error never escapes: an unreachable GitHub (5xx, timeout, bad token, rate limit)
makes the CI gate "unknown — GitHub unreachable" and schedules a retry; a pull request that
does not exist or that the token cannot see is explained to the author, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import accounts, directory, pull_requests
from bot.context import Context
from bot.github import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    Review,
    parse_pr_url,
)
from bot.notify import load_change
from bot.pull_requests import Read, ReviewBy
from bot.sweeper import Skip, kind
from storage.github_store import FINISHED
from storage.models import Change, Reminder


def _ready(ctx: Context, change: Change) -> None:
    if change.status in FINISHED:
        raise Skip(f"the change is {change.status}")
    if not change.pr_url:
        raise Skip("no pull request is linked")


@kind(pull_requests.SYNC)
async def sync(ctx: Context, reminder: Reminder) -> None:
    change = await load_change(ctx, reminder)
    _ready(ctx, change)
    if ctx.github is None:
        await pull_requests.mark_not_connected(ctx, change.id or 0)
        raise Skip(pull_requests.NOT_CONNECTED)
    url, attempt = change.pr_url or "", int(reminder.payload.get("attempt", 0))
    try:
        ref = parse_pr_url(url)
        pull = await ctx.github.get_pull(ref)
        ci = await ctx.github.get_ci(ref.full_name, pull.head_sha)
        reviews = await ctx.github.get_reviews(ref)
    except ValueError as exc:
        await pull_requests.mark_unreadable(ctx, change.id or 0, url, str(exc))
        raise Skip(str(exc)) from exc
    except GitHubError as exc:
        await _failed(ctx, change, reminder, exc, attempt)
        return
    people = await _people(ctx, reviews)
    await pull_requests.apply_read(ctx, change.id or 0, url, Read(pull, ci, people),
                                   reminder_id=reminder.id, attempt=attempt)


@kind("github_ci")
async def read_ci(ctx: Context, reminder: Reminder) -> None:
    change = await load_change(ctx, reminder)
    _ready(ctx, change)
    sha = reminder.payload.get("sha")
    if not sha or change.head_sha != sha:
        raise Skip("that commit is no longer the pull request's head")
    if ctx.github is None:
        raise Skip(pull_requests.NOT_CONNECTED)
    url = change.pr_url or ""
    try:
        ci = await ctx.github.get_ci(parse_pr_url(url).full_name, sha)
    except ValueError as exc:
        raise Skip(str(exc)) from exc
    except GitHubError as exc:
        await _failed(ctx, change, reminder, exc, 0)
        return
    await pull_requests.apply_read(ctx, change.id or 0, url, Read(ci=ci),
                                   reminder_id=reminder.id)


@kind("github_review")
async def record_review(ctx: Context, reminder: Reminder) -> None:
    change = await load_change(ctx, reminder)
    _ready(ctx, change)
    data = reminder.payload["review"]
    review = Review(
        login=data["login"], state=data["state"].upper(),
        submitted_at=datetime.fromisoformat(data["submitted_at"].replace("Z", "+00:00")),
        commit_id=data["commit_id"], id=int(data.get("id") or 0),
    )
    people = await _people(ctx, [review])
    await pull_requests.apply_read(ctx, change.id or 0, change.pr_url or "",
                                   Read(reviews=tuple(people)), reminder_id=reminder.id)


async def _failed(ctx: Context, change: Change, reminder: Reminder, exc: GitHubError,
                  attempt: int) -> None:
    url = change.pr_url or ""
    cannot_see = isinstance(exc, GitHubNotFound) or (
        isinstance(exc, GitHubAuthError) and exc.status == 403
    )
    if cannot_see:
        await pull_requests.mark_unreadable(ctx, change.id or 0, url, exc.message)
        raise Skip(exc.message)
    retry_at = None
    if isinstance(exc, GitHubRateLimited):
        retry_at = max(exc.reset_at, ctx.clock.now() + timedelta(seconds=30))
    await pull_requests.mark_unreachable(ctx, change.id or 0, url, exc.message,
                                         attempt=attempt, retry_at=retry_at,
                                         reminder_id=reminder.id)


async def _people(ctx: Context, reviews: list[Review]) -> tuple[ReviewBy, ...]:
    """Each reviewer's Slack user (when linked or found by email) and tech-lead standing."""
    users: dict[str, str | None] = {}
    leads: dict[str, bool] = {}
    for review in reviews:
        if review.state == "COMMENTED" or review.login in users:
            continue
        user = users[review.login] = await accounts.slack_user_for(ctx, review.login)
        if user is not None and user not in leads:
            try:
                leads[user] = bool(
                    await directory.is_member(ctx, ctx.policy.groups.tech_leads, user)
                )
            except directory.DirectoryUnavailable:
                leads[user] = False
    return tuple(
        ReviewBy(r, users.get(r.login), leads.get(users.get(r.login) or "", False))
        for r in reviews
    )
