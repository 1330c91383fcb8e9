"""Who is who between GitHub and Slack, so that a review on GitHub counts as the person's.

A GitHub login is linked to a Slack user either by email (the GitHub user's public email,
looked up with Slack's `users.lookupByEmail`) or by the person themselves with
`/change github <login>`, proven by a one-time code the login posts in a pull-request comment
(bot.github.login_proof). A link, once made, is never changed silently: claiming a login
someone else holds is refused.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.change.facts import ChangeFacts
from bot.change.rows import facts_of
from bot.change.work import refresh_card
from bot.context import Context
from bot.flows import review as review_flow
from bot.github.client import GitHubError, GitHubNotFound
from bot.runtime.clock import ttl_cache
from bot.slack import directory
from storage import github_store, repo
from storage.models import Change, LoginClaim

log = logging.getLogger(__name__)

_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# After a login could not be linked by email, wait this long before asking GitHub again.
EMAIL_RETRY = timedelta(hours=1)
# How long a one-time code claiming a login may take to appear in a pull-request comment.
CLAIM_TTL = timedelta(hours=24)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read and typed without doubt


def parse_login(text: str) -> str:
    """`octocat`, `@octocat` or a profile link -> `octocat`; ValueError with a message."""
    raw = (text or "").strip()
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1].split("|", 1)[0]
    raw = re.sub(r"^https?://[^/]+/", "", raw).strip("/").removeprefix("@")
    if not _LOGIN.match(raw):
        shown = raw if len(raw) <= 60 else raw[:60] + "…"
        raise ValueError(
            f"“{shown}” is not a GitHub login: write the name you sign in to GitHub with, "
            "like `/change github octocat`."
        )
    return raw


def unlinked_author(login: str) -> str:
    """How a change opened from GitHub names an author nobody has linked to Slack yet."""
    return f"gh:{login.lower()}"


async def slack_user_for(ctx: Context, login: str) -> str | None:
    """The Slack user behind a GitHub login: an existing link, else by public email.

    Never raises for GitHub or Slack trouble: an unknown person is simply not linked yet.
    """
    async with ctx.db.session() as session:
        link = await github_store.user_link(session, login)
    if link is not None:
        return link.slack_user_id
    if ctx.github is None:
        return None
    misses = ttl_cache(ctx.cache, "github_email_misses", ctx.clock, EMAIL_RETRY)
    now = ctx.clock.now()
    if login.lower() in misses:
        return None
    slack_user = await _by_email(ctx, login)
    if slack_user is None:
        misses[login.lower()] = now
        return None
    async with ctx.db.session() as session:
        if await github_store.add_user_link(session, login=login, slack_user=slack_user,
                                            how="email", now=now):
            await repo.add_audit(
                session, at=now, actor="changebot", action="github_login_linked",
                detail={"login": login, "slack_user": slack_user, "by": "email"})
        link = await github_store.user_link(session, login)
    if link is not None and link.slack_user_id == slack_user:
        await adopt(ctx, login, slack_user)
    return link.slack_user_id if link is not None else slack_user


async def _by_email(ctx: Context, login: str) -> str | None:
    assert ctx.github is not None
    try:
        email = await ctx.github.get_user_email(login)
    except GitHubError as exc:
        log.info("could not read GitHub user %s: %s", login, exc.message)
        return None
    if not email:
        return None
    try:
        answer = await ctx.slack.users_lookupByEmail(email=email)
    except Exception as exc:  # users_not_found, or Slack trouble: not linked for now
        log.info("no Slack user for %s's email: %r", login, exc)
        return None
    user = answer.get("user") or {}
    if user.get("deleted") or user.get("is_bot"):
        return None
    return user.get("id")


@dataclass(frozen=True)
class Linked:
    ok: bool
    message: str


async def link_login(ctx: Context, slack_user: str, text: str) -> Linked:
    """`/change github <login>`: the person says which GitHub login is theirs."""
    try:
        login = parse_login(text)
    except ValueError as exc:
        return Linked(False, str(exc))
    async with ctx.db.session() as session:
        existing = await github_store.user_link(session, login)
    if existing is not None:
        if existing.slack_user_id == slack_user:
            return Linked(True, f"GitHub `{login}` is already linked to you.")
        how = "their email" if existing.linked_by == "email" else "their own claim"
        return Linked(False, f"GitHub `{login}` is already linked to <@{existing.slack_user_id}>"
                             f" (by {how}). Nothing was changed.")
    if ctx.github is not None:
        refusal = await _check_against_github(ctx, login, slack_user)
        if refusal:
            return Linked(False, refusal)
    # The person's word is not enough: the login proves it with a one-time code
    # (bot.github.login_proof), or is linked by its public email.
    return Linked(True, await claim(ctx, slack_user, login))


def new_code() -> str:
    return "CB-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


async def claim(ctx: Context, slack_user: str, login: str) -> str:
    """Record the claim and say how to prove it."""
    now = ctx.clock.now()
    code = new_code()
    async with ctx.db.session() as session:
        session.add(LoginClaim(code=code, github_login=login.lower(), slack_user_id=slack_user,
                               created_at=now, expires_at=now + CLAIM_TTL))
        await repo.add_audit(session, at=now, actor=slack_user, action="github_login_claimed",
                             detail={"login": login, "slack_user": slack_user})
    return (f"To link GitHub `{login}` to you, prove it is yours: signed in to GitHub as "
            f"`{login}`, comment `changebot verify {code}` on a pull request of a repository "
            "Changebot watches, within 24 hours. Until then, reviews by "
            f"`{login}` do not count as yours.")


async def _check_against_github(ctx: Context, login: str, slack_user: str) -> str | None:
    assert ctx.github is not None
    try:
        email = await ctx.github.get_user_email(login)
    except GitHubNotFound:
        return f"GitHub has no user `{login}`: check the spelling. Nothing was changed."
    except GitHubError:
        return None  # cannot check now; the code they post will prove it
    if not email:
        return None
    try:
        found = (await ctx.slack.users_lookupByEmail(email=email)).get("user") or {}
        owner = found.get("id")
    except Exception:  # users_not_found, or Slack trouble: nothing to contradict the person
        return None
    if owner and owner != slack_user:
        return (f"GitHub `{login}` has the public email of <@{owner}>: it was not linked to you."
                " Nothing was changed.")
    return None


async def adopt(ctx: Context, login: str, slack_user: str) -> int:
    """Now that `login` is known to be `slack_user`: their recorded GitHub reviews count, and
    changes opened from GitHub under the login become theirs. Returns the reviews adopted."""
    try:
        tech_lead = bool(await directory.is_member(ctx, ctx.policy.groups.tech_leads, slack_user))
    except directory.DirectoryUnavailable:
        tech_lead = False
    now = ctx.clock.now()
    adopted = 0
    async with ctx.db.session() as session:
        touched: dict[int, Change] = {}
        before: dict[int, ChangeFacts] = {}  # as they stood before the reviews counted
        reviews = await github_store.unlinked_reviews(session, login)
        for change_id in sorted({a.change_id for a in reviews}):
            change = await repo.get_change(session, change_id, lock=True)
            if change is not None:
                touched[change_id] = change
                before[change_id] = facts_of(change, await repo.approvals_of(session,
                                                                             change_id))
        for approval in reviews:
            approval.user_id = slack_user
            approval.tech_lead = tech_lead
            session.add(approval)
            adopted += 1
        for change in await github_store.changes_by_pr_author(session, login):
            # The pull request's author counts as an author of the change (bot.change.facts).
            change.pr_info = {**change.pr_info, "author_user": slack_user}
            session.add(change)
            touched[change.id or 0] = change
        for change in await github_store.changes_by_author(session, unlinked_author(login)):
            change.author_id = slack_user
            session.add(change)
            touched[change.id or 0] = change
            await repo.add_audit(
                session, at=now, actor="changebot", action="author_linked",
                           change_id=change.id, detail={"login": login, "slack_user": slack_user})
        await session.flush()
        for change_id, change in touched.items():
            after = facts_of(change, await repo.approvals_of(session, change_id))
            await review_flow.approval_counted(session, ctx, change,
                                               before.get(change_id, after), after,
                                               by=slack_user)
            await refresh_card(session, ctx, change)
        if adopted:
            await repo.add_audit(
                session, at=now, actor="changebot", action="github_reviews_adopted",
                detail={"login": login, "slack_user": slack_user, "reviews": adopted})
    return adopted
