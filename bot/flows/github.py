"""Step 2 events from GitHub and `/change link`: a pull request linked, a new push, a read
of the pull request (its files, CI and reviews) applied. Each runs in the transaction of the
locked change; the caller refreshes the card."""

from __future__ import annotations

from bot.change.facts import ChangeFacts
from bot.change.work import Loaded
from bot.context import Context
from bot.github import emergency_label, pull_requests
from bot.github.client import PrRef
from bot.review import infrastructure, standard
from bot.review.rules import push_resets_approvals
from bot.schedule import planning
from bot.security import routing as security


async def pr_linked(loaded: Loaded, ctx: Context, *, before: ChangeFacts, ref: PrRef,
                    replaced: bool) -> None:
    """A change now links `ref` (`replaced`: it linked another one before):

    1. approvals given for another pull request no longer count (policy);
    2. an emergency's pull request gets the EMERGENCY label;
    3. its planned time is checked for conflicts again: without a service of its own, its
       service is now the pull request's repository (both cards flagged, authors told once
       per pair);
    4. the pull request is read from GitHub (or the card says GitHub is not connected).
    """
    session, change = loaded.session, loaded.change
    if replaced and push_resets_approvals(before, ctx.policy):
        await pull_requests.reset_approvals(
            loaded, ctx, before, reason=f"approvals reset: pull request changed to {ref}")
    await emergency_label.label_when_linked(session, ctx, change)
    await planning.flag_conflicts(session, ctx, change)
    if ctx.github is None:
        pull_requests.note_not_connected(change)
    else:
        await pull_requests.schedule_sync(session, ctx, change, why="link")


async def pushed(loaded: Loaded, ctx: Context, sha: str, before: str | None = None) -> None:
    """A push webhook: a new head commit starts CI over and resets the approvals (policy),
    then its files and CI are read from GitHub. A push that moves the head back to a commit
    seen before (a force-push: `before` is the head we know) is a new head all the same;
    only a late delivery of an older push is not."""
    change = loaded.change
    info = dict(change.pr_info)
    if sha not in info.get("previous_heads", []) or (before and before == change.head_sha):
        await pull_requests.new_head(loaded, ctx, sha, info)
        change.pr_info = info
    change.github_checked_at = ctx.clock.now()
    await pull_requests.schedule_sync(loaded.session, ctx, change, why="push")


async def pr_read(loaded: Loaded, ctx: Context, read: pull_requests.Read) -> None:
    """What a read of GitHub brought, in the order of the process:

    1. the pull request (a new head commit resets the approvals, a merge is recorded);
    2. CI of its head commit (the author is told when it fails);
    3. reviews: an approval that counts may approve the change (bot.flows.review), one
       withdrawn may send it back to review;
    4. the changed files may call for a security review, or no longer;
    5. they may not fit the standard change declared, or suggest high risk (Step 1), or
       make it an infrastructure change: the infrastructure team is asked.
    A read made before a push we already know of is not applied.
    """
    fresh = True
    if read.pull is not None:
        fresh = await pull_requests.apply_pull(loaded, ctx, read.pull, read.pull_author,
                                               read.codeowners)
    if fresh and read.ci is not None:
        await pull_requests.apply_ci(loaded, ctx, read.ci)
    if read.reviews is not None:
        await pull_requests.record_reviews(loaded, ctx, read.reviews)
    if fresh and read.pull is not None:
        await security.reassess(loaded.session, ctx, loaded.change)
        await standard.reassess(loaded, ctx)
        await infrastructure.ask_if_needed(loaded.session, ctx, loaded.change)
