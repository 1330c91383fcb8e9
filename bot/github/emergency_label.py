"""The EMERGENCY label, both ways: "Create PR with EMERGENCY label" is where the process's
emergency path starts.

- An emergency change with a linked pull request gets the label on GitHub
  (`label_emergency`, durable and retried: reminder kind `github_label`).
- A pull request labelled EMERGENCY on GitHub that no change links yet opens an emergency
  change (reminder kind `github_emergency_pr`): author mapped to Slack where possible, else
  recorded by GitHub login; audited; its card posted. The broadcast to engineering and the
  retrospective belong to the emergency path, which plugs into `EMERGENCY_HOOKS`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.actions import PROPOSAL_HOOKS, audit, dm, refresh_card, thread_note, update_security
from bot.change.states import Category, Risk, Status, format_change_id
from bot.context import Context
from bot.github import accounts, pull_requests
from bot.github.client import (
    GitHubAuthError,
    GitHubNotFound,
    GitHubRateLimited,
    PrRef,
    parse_pr_url,
)
from bot.runtime.sweeper import NotYet, Skip, kind
from bot.slack.outbox import load_change, schedule
from storage import github_store, repo
from storage.github_store import repo_key
from storage.models import Change, Reminder

LABEL = "EMERGENCY"

# Run inside the transaction that opened an emergency change from a GitHub label: the
# emergency path (broadcast to engineering, retrospective due) plugs in here.
EmergencyHook = Callable[[AsyncSession, Context, Change], Awaitable[None]]
EMERGENCY_HOOKS: list[EmergencyHook] = []


def is_emergency_label(name: str | None) -> bool:
    return (name or "").strip().upper() == LABEL


async def label_emergency(ctx: Context, change: Change, session: AsyncSession | None = None
                          ) -> bool:
    """Put the EMERGENCY label on the change's pull request (durably, retried). In the
    caller's transaction when `session` is given; True when newly scheduled."""
    if not change.pr_repo or not change.pr_number or ctx.github is None:
        return False
    key = f"github_label:{change.id}:{change.pr_repo}#{change.pr_number}"
    if session is not None:
        return await schedule(session, ctx, key=key, kind="github_label", change_id=change.id,
                              payload={"label": LABEL})
    async with ctx.db.session() as own:
        added = await schedule(own, ctx, key=key, kind="github_label", change_id=change.id,
                               payload={"label": LABEL})
    ctx.sweeper.kick()
    return added


async def _label_when_linked(session: AsyncSession, ctx: Context, change: Change) -> None:
    if change.category == Category.emergency.value:
        await label_emergency(ctx, change, session)


pull_requests.PR_LINKED_HOOKS.append(_label_when_linked)


@kind("github_label")
async def add_label(ctx: Context, reminder: Reminder) -> None:
    change = await load_change(ctx, reminder)
    if ctx.github is None:
        raise Skip(pull_requests.NOT_CONNECTED)
    if not change.pr_url or change.category != Category.emergency.value:
        raise Skip("the change has no pull request, or is no longer an emergency")
    label = reminder.payload.get("label", LABEL)
    try:
        ref = parse_pr_url(change.pr_url)
    except ValueError as exc:
        raise Skip(str(exc)) from exc
    try:
        await ctx.github.add_label(ref, label)
    except GitHubRateLimited as exc:
        raise NotYet(exc.message, exc.reset_at - ctx.clock.now()) from exc
    except (GitHubNotFound, GitHubAuthError) as exc:
        if isinstance(exc, GitHubAuthError) and exc.status == 401:
            raise  # a bad token may be fixed: the sweeper retries with backoff
        async with ctx.db.session() as session:
            await audit(session, ctx, change, "changebot", "github_label_failed", label=label,
                        error=exc.message)
        raise Skip(exc.message) from exc
    # Other GitHubErrors (5xx, timeouts) propagate: the sweeper retries with backoff.
    async with ctx.db.session() as session:
        await audit(session, ctx, change, "changebot", "github_label_added", label=label,
                    pr=str(ref))


# --------------------------------------------------------------------------- from GitHub


def _source_key(repo_name: str, number: int) -> str:
    key = f"github:{repo_key(repo_name)}#{number}"
    if len(key) <= 64:
        return key
    return "github:" + hashlib.sha256(key.encode()).hexdigest()[:56]


async def on_label(session: AsyncSession, ctx: Context, payload: dict, delivery: str) -> str:
    """A `pull_request` `labeled` EMERGENCY webhook (called by bot.github_events)."""
    pr = payload["pull_request"]
    repo_name, number = payload["repository"]["full_name"], int(pr["number"])
    linked = await github_store.changes_linking(session, repo_name, number)
    if linked:
        for change in linked:
            await audit(session, ctx, change, f"gh:{_login(payload.get('sender'))}",
                        "github_emergency_label", pr=f"{repo_name}#{number}")
            if change.category != Category.emergency.value:
                await thread_note(session, ctx, change, (
                    f"The pull request was labelled {LABEL} on GitHub, but this is a "
                    f"{Category(change.category).label.lower()} change: it still goes "
                    "through every gate."))
            await refresh_card(session, ctx, change)
        return f"EMERGENCY label noted on {len(linked)} change(s)"
    await schedule(session, ctx, key=f"github_emergency_pr:{_source_key(repo_name, number)}",
                   kind="github_emergency_pr", payload={
                       "repo": repo_name, "number": number,
                       "url": pr.get("html_url") or "", "title": pr.get("title") or "",
                       "body": pr.get("body") or "", "author": _login(pr.get("user")),
                       "head_sha": (pr.get("head") or {}).get("sha"),
                       "base": (pr.get("base") or {}).get("ref"),
                       "head": (pr.get("head") or {}).get("ref"),
                       "labeled_by": _login(payload.get("sender")), "delivery": delivery,
                   })
    return "an emergency change will be opened for the pull request"


def _login(user: dict | None) -> str:
    return (user or {}).get("login") or "ghost"


@kind("github_emergency_pr")
async def open_emergency(ctx: Context, reminder: Reminder) -> None:
    """Open the emergency change for a pull request labelled EMERGENCY on GitHub."""
    data = reminder.payload
    author_login = data["author"]
    slack_author = await accounts.slack_user_for(ctx, author_login)
    source_key = _source_key(data["repo"], int(data["number"]))
    owner, name = data["repo"].split("/", 1)
    ref = PrRef("github.com", owner, name, int(data["number"]))
    url = data.get("url") or ref.url
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        if await repo.change_by_source(session, source_key) is not None:
            return
        if await github_store.changes_linking(session, data["repo"], int(data["number"])):
            return  # linked by hand in the meantime
        change = Change(
            title=(data.get("title") or f"Emergency: {ref}")[:150],
            description=(data.get("body") or f"Opened from the {LABEL} label on {url}.")[:3000],
            category=Category.emergency.value, risk=Risk.high.value,
            rollback_plan=f"Revert {url} and redeploy (from GitHub: the author should "
                          "refine this).",
            testing="", pr_url=url, pr_repo=repo_key(data["repo"]),
            pr_number=int(data["number"]), head_sha=data.get("head_sha"),
            pr_info={"repo": data["repo"], "number": int(data["number"]), "url": url,
                     "title": data.get("title") or "", "author": author_login,
                     "base": data.get("base"), "head": data.get("head"), "state": "open",
                     "merged": False},
            author_id=slack_author or accounts.unlinked_author(author_login),
            status=Status.in_review.value, created_at=now, updated_at=now,
            source_key=source_key,
        )
        update_security(ctx, change)
        session.add(change)
        await session.flush()
        await audit(session, ctx, change, f"gh:{data.get('labeled_by') or author_login}",
                    "emergency_opened_from_github", pr=str(ref), url=url,
                    author_login=author_login, author=slack_author,
                    labeled_by=data.get("labeled_by"), category=change.category,
                    security_triggers=change.security_triggers)
        await refresh_card(session, ctx, change)
        if slack_author:
            cid = format_change_id(change.id or 0)
            await dm(session, ctx, change, slack_author,
                     f"Your pull request {url} was labelled {LABEL} on GitHub, so I opened "
                     f"the emergency change *{cid}*. Add the impact and the rollback plan "
                     "with *Edit* on the card.", key=f"emergency-opened:{change.id}")
        await pull_requests.schedule_sync(session, ctx, change, why="emergency label")
        for hook in PROPOSAL_HOOKS:  # e.g. security routing; ours would only read the PR
            if hook is not pull_requests.on_proposal:
                await hook(session, ctx, change)
        for hook in EMERGENCY_HOOKS:
            await hook(session, ctx, change)
    ctx.sweeper.kick()
