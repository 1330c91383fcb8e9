"""Step 2 in Slack: `/change link CHG-n <url>` links (or re-links) a change's pull request,
and the card's Refresh button reads it again."""

from __future__ import annotations

from bot.change.states import format_change_id
from bot.change.work import (
    NoSuchChange,
    Outcome,
    audit,
    editing,
    refresh_card,
    refused,
    thread_note,
)
from bot.context import Context
from bot.flows import github as github_flow
from bot.github.client import parse_pr_url
from bot.github.pull_requests import NOT_CONNECTED, attach, schedule_sync
from bot.review.rules import may_link_pr
from storage.github_store import repo_key


async def link(ctx: Context, change_id: int, user: str, url: str) -> Outcome:
    """`/change link CHG-n <url>`: the author links (or re-links) the pull request."""
    try:
        ref = parse_pr_url(url)
    except ValueError as exc:
        return refused(f"{exc} Nothing was changed.")
    cid = format_change_id(change_id)
    try:
        async with editing(ctx, change_id) as loaded:
            change, facts = loaded.change, loaded.facts
            decision = may_link_pr(facts, user)
            if not decision.allowed:
                return refused(decision.reason)
            if (change.pr_repo, change.pr_number) == (repo_key(ref.full_name), ref.number):
                if ctx.github is None:
                    return Outcome(True, f"{cid} already links {ref}. {NOT_CONNECTED} to "
                                         "Changebot, so it cannot be read.", change)
                await schedule_sync(loaded.session, ctx, change, why="link")
                message = f"{cid} already links {ref}: reading it from GitHub again."
            else:
                previous = change.pr_url
                change.pr_url = ref.url
                attach(change, ref)
                change.updated_at = ctx.clock.now()
                await audit(loaded.session, ctx, change, user, "pr_linked", url=ref.url,
                            previous=previous)
                await thread_note(loaded.session, ctx, change,
                                  f"<@{user}> linked the pull request {ref.url}")
                await github_flow.pr_linked(loaded, ctx, before=facts, ref=ref,
                                            replaced=bool(previous))
                if ctx.github is None:
                    message = (f"Linked {ref} to {cid}. {NOT_CONNECTED} to Changebot (no "
                               "GITHUB_TOKEN), so the bot cannot read it: the CI gate stays "
                               "unknown.")
                else:
                    message = (f"Linked {ref} to {cid}. Reading it from GitHub now: the card "
                               "will show it.")
            await refresh_card(loaded.session, ctx, change)
    except NoSuchChange as missing:
        return refused(str(missing))
    ctx.sweeper.kick()
    return Outcome(True, message, change)


async def refresh(ctx: Context, change_id: int) -> Outcome:
    """The card's Refresh button: read the pull request again, now."""
    cid = format_change_id(change_id)
    try:
        async with editing(ctx, change_id) as loaded:
            change = loaded.change
            if not change.pr_url:
                return refused(f"{cid} has no pull request: link one with "
                               f"`/change link {cid} <url>`.")
            if ctx.github is None:
                return refused(f"{NOT_CONNECTED} to Changebot (no GITHUB_TOKEN): ask whoever "
                               "runs the bot to set it.")
            await schedule_sync(loaded.session, ctx, change, why="refresh")
    except NoSuchChange as missing:
        return refused(str(missing))
    ctx.sweeper.kick()
    return Outcome(True, f"Reading {change.pr_url} from GitHub now; the card will update.",
                   change)
