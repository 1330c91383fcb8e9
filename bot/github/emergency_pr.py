"""A pull request labelled EMERGENCY on GitHub that no change links yet opens an emergency
change (reminder kind `github_emergency_pr`): author mapped to Slack where possible, else
recorded by GitHub login; audited; then the emergency path as for one declared in Slack
(bot.flows.proposal.opened_from_github).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Category, Risk, Status
from bot.change.work import audit, refresh_card, thread_note
from bot.context import Context
from bot.flows import proposal as proposal_flow
from bot.github import accounts
from bot.github.client import PrRef
from bot.github.emergency_label import LABEL
from bot.runtime.sweeper import Payload
from bot.security.routing import update_security
from bot.slack.outbox import schedule
from storage import github_store, repo
from storage.github_store import repo_key
from storage.models import Change, Reminder


def _source_key(repo_name: str, number: int) -> str:
    key = f"github:{repo_key(repo_name)}#{number}"
    if len(key) <= 64:
        return key
    return "github:" + hashlib.sha256(key.encode()).hexdigest()[:56]


async def already_tracked(session: AsyncSession, source_key: str, repo_name: str,
                          number: int) -> bool:
    """A change was opened for this pull request already, or it was linked to one by hand
    in the meantime."""
    if await repo.change_by_source(session, source_key) is not None:
        return True
    return bool(await github_store.changes_linking(session, repo_name, number))


async def on_label(session: AsyncSession, ctx: Context, payload: dict, delivery: str) -> str:
    """A `pull_request` `labeled` EMERGENCY webhook (called by bot.github.events)."""
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
                   kind="github_emergency_pr",
                   payload={**pull_request_fields(payload, delivery),
                            "labeled_by": _login(payload.get("sender"))})
    return "an emergency change will be opened for the pull request"


def _login(user: dict | None) -> str:
    return (user or {}).get("login") or "ghost"


def pull_request_fields(payload: dict, delivery: str) -> dict[str, Any]:
    """A `pull_request` webhook's pull request, as the fields of PullRequestPayload."""
    pr = payload["pull_request"]
    return {"repo": payload["repository"]["full_name"], "number": int(pr["number"]),
            "url": pr.get("html_url") or "", "title": pr.get("title") or "",
            "body": pr.get("body") or "", "author": _login(pr.get("user")),
            "head_sha": (pr.get("head") or {}).get("sha"),
            "base": (pr.get("base") or {}).get("ref"), "head": (pr.get("head") or {}).get("ref"),
            "delivery": delivery}


async def open_change(ctx: Context, pr: PullRequestPayload, change: Change,
                      opened: Callable[[AsyncSession, Change], Awaitable[None]]) -> None:
    """Add the change opened from `pr` (its security review decided) and run `opened` in the
    same transaction, unless a change was opened for it, or linked to it, meanwhile."""
    async with ctx.db.session() as session:
        if await already_tracked(session, pr.source_key, pr.repo, pr.number):
            return
        update_security(ctx, change)
        session.add(change)
        await session.flush()
        await opened(session, change)
    ctx.sweeper.kick()


async def open_emergency(ctx: Context, reminder: Reminder) -> None:
    """Open the emergency change for a pull request labelled EMERGENCY on GitHub."""
    pr = EmergencyPrPayload.model_validate(reminder.payload)
    slack_author = await accounts.slack_user_for(ctx, pr.author)
    url, now = pr.link, ctx.clock.now()
    change = Change(
        title=(pr.title or f"Emergency: {pr.ref}")[:150],
        description=(pr.body or f"Opened from the {LABEL} label on {url}.")[:3000],
        category=Category.emergency, risk=Risk.high,
        rollback_plan=f"Revert {url} and redeploy (from GitHub: the author should "
                      "refine this).",
        testing="", pr_url=url, pr_repo=repo_key(pr.repo),
        pr_number=pr.number, head_sha=pr.head_sha,
        pr_info={"repo": pr.repo, "number": pr.number, "url": url,
                 "title": pr.title, "author": pr.author,
                 "base": pr.base, "head": pr.head, "state": "open",
                 "merged": False},
        author_id=slack_author or accounts.unlinked_author(pr.author),
        status=Status.in_review, created_at=now, updated_at=now,
        source_key=pr.source_key,
    )

    async def opened(session: AsyncSession, change: Change) -> None:
        await audit(session, ctx, change, f"gh:{pr.labeled_by or pr.author}",
                    "emergency_opened_from_github", pr=str(pr.ref), url=url,
                    author_login=pr.author, author=slack_author,
                    labeled_by=pr.labeled_by, category=change.category,
                    security_triggers=change.security_triggers)
        await proposal_flow.opened_from_github(session, ctx, change,
                                               url=url, slack_author=slack_author)

    await open_change(ctx, pr, change, opened)


class PullRequestPayload(Payload):
    """A pull request that opens a change, as the webhook told it."""

    repo: str
    number: int
    url: str = ""
    title: str = ""
    body: str = ""
    author: str = "ghost"
    head_sha: str | None = None
    base: str | None = None
    head: str | None = None
    delivery: str | None = None

    @property
    def ref(self) -> PrRef:
        owner, name = self.repo.split("/", 1)
        return PrRef("github.com", owner, name, self.number)

    @property
    def link(self) -> str:
        return self.url or self.ref.url

    @property
    def source_key(self) -> str:
        return _source_key(self.repo, self.number)


class EmergencyPrPayload(PullRequestPayload):
    """`github_emergency_pr`: the labelled pull request."""

    labeled_by: str | None = None
