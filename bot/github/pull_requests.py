"""Step 2 and the GitHub half of the evidence: the pull request a change links to.

What GitHub says about the pull request (title, branches, head commit, changed files, CI,
reviews) is read off the request path by the reminder kinds of `bot.github_sync`, or comes
with a webhook (`bot.github_events`), and is applied here: one transaction per change, the
change row locked, an audit event for every change of state, the card refreshed after.

"Approve a SHA, not a branch": a new head commit re-evaluates CI and, by policy, resets the
approvals (the change's revision goes up, so approvals of the old one stop counting), and a
GitHub review counts only for the commit it approved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.actions import (
    PROPOSAL_HOOKS,
    Loaded,
    NoSuchChange,
    Outcome,
    audit,
    dm,
    editing,
    is_slack_user,
    refresh_card,
    refused,
    thread_note,
)
from bot.change.facts import ChangeFacts
from bot.change.states import format_change_id
from bot.context import Context
from bot.github.client import CiResult, PrRef, PullInfo, Review, parse_pr_url
from bot.review.rules import (
    approval_progress,
    may_approve,
    may_link_pr,
    push_resets_approvals,
    status_after_push,
    status_after_vote,
    status_after_withdrawal,
)
from bot.schedule.freezes import declared_freezes
from storage import reminder_store, repo
from storage.github_store import repo_key
from storage.models import Approval, Change

NOT_CONNECTED = "GitHub is not connected"
SYNC = "github_sync"

# Hooks run when a change gets linked to a (different) pull request, inside that transaction
# (the EMERGENCY label plugs in here: bot.github_emergency).
LinkHook = Callable[[AsyncSession, Context, Change], Awaitable[None]]
PR_LINKED_HOOKS: list[LinkHook] = []


def short(sha: str | None) -> str:
    return (sha or "")[:7]


@dataclass(frozen=True)
class ReviewBy:
    """A GitHub review and the Slack user behind its login, when known."""

    review: Review
    slack_user: str | None = None
    tech_lead: bool = False


async def lock(session: AsyncSession, change_id: int, now: datetime | None = None
               ) -> Loaded | None:
    """The change locked in the caller's transaction, with its approvals (and the declared
    freezes from `now` on, when a deployment may be at stake)."""
    change = await repo.get_change(session, change_id, lock=True)
    if change is None:
        return None
    freezes = await declared_freezes(session, now) if now else ()
    return Loaded(session, change, list(await repo.approvals_of(session, change_id)), freezes)


# --------------------------------------------------------------------------- linking


def _attach(change: Change, ref: PrRef | None) -> bool:
    """Point the change at `ref` (or at none), forgetting what was read of another pull
    request. True when the pull request changed."""
    new = (repo_key(ref.full_name), ref.number) if ref else (None, None)
    if (change.pr_repo, change.pr_number) == new:
        return False
    change.pr_repo, change.pr_number = new
    change.pr_info = {}
    change.head_sha = change.merge_sha = None
    change.ci_state, change.ci_detail = "none", {}
    change.github_error, change.github_checked_at = None, None
    return True


def note_not_connected(change: Change) -> None:
    change.ci_state = "unknown"
    change.ci_detail = {"problem": f"{NOT_CONNECTED} (no GITHUB_TOKEN)"}
    change.github_error = (f"{NOT_CONNECTED} to Changebot (no GITHUB_TOKEN): the pull request "
                           "is not read, so CI cannot be checked")


async def schedule_sync(session: AsyncSession, ctx: Context, change: Change, *,
                        key: str | None = None, why: str = "") -> bool:
    """Read the pull request from GitHub soon (durable: a reminder row, sent after commit)."""
    return await reminder_store.schedule(
        session, key=key or f"{SYNC}:{change.id}:{uuid.uuid4().hex}", kind=SYNC,
        change_id=change.id, payload={"why": why} if why else {}, due_at=ctx.clock.now(),
        now=ctx.clock.now(),
    )


async def on_proposal(session: AsyncSession, ctx: Context, change: Change) -> None:
    """PROPOSAL_HOOKS: a proposal (or revision) with a PR link has the PR read from GitHub."""
    try:
        ref = parse_pr_url(change.pr_url) if change.pr_url else None
    except ValueError:  # the modal checks the link; an old row may hold anything
        ref = None
    linked = _attach(change, ref)
    if ref is None:
        return
    if ctx.github is None:
        note_not_connected(change)
    else:
        digest = hashlib.sha256(change.pr_url.encode()).hexdigest()[:12]
        await schedule_sync(session, ctx, change, why="proposal",
                            key=f"{SYNC}:{change.id}:r{change.revision}:{digest}")
    if linked:
        for hook in PR_LINKED_HOOKS:
            await hook(session, ctx, change)


PROPOSAL_HOOKS.append(on_proposal)


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
                _attach(change, ref)
                change.updated_at = ctx.clock.now()
                await audit(loaded.session, ctx, change, user, "pr_linked", url=ref.url,
                            previous=previous)
                await thread_note(loaded.session, ctx, change,
                                  f"<@{user}> linked the pull request {ref.url}")
                if previous and push_resets_approvals(facts, ctx.policy):
                    await reset_approvals(loaded, ctx, facts,
                                          reason=f"approvals reset: pull request changed to {ref}")
                for hook in PR_LINKED_HOOKS:
                    await hook(loaded.session, ctx, change)
                if ctx.github is None:
                    note_not_connected(change)
                    message = (f"Linked {ref} to {cid}. {NOT_CONNECTED} to Changebot (no "
                               "GITHUB_TOKEN), so the bot cannot read it: the CI gate stays "
                               "unknown.")
                else:
                    await schedule_sync(loaded.session, ctx, change, why="link")
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


# --------------------------------------------------------------------------- approvals


async def reset_approvals(loaded: Loaded, ctx: Context, facts: ChangeFacts, *, reason: str,
                          sha: str | None = None) -> bool:
    """What was approved is not what will ship: a new revision, back to review (policy)."""
    change = loaded.change
    decisions = [a for a in loaded.approvals if a.revision == change.revision]
    new_status = status_after_push(facts, ctx.policy)
    if not decisions and new_status == facts.status:
        return False
    approvers = {a.user_id for a in decisions if a.decision == "approved" and a.user_id}
    change.revision += 1
    change.status = new_status.value
    change.updated_at = ctx.clock.now()
    await audit(loaded.session, ctx, change, "changebot", "approvals_reset", reason=reason,
                sha=sha, revision=change.revision, previous_status=facts.status.value)
    await thread_note(loaded.session, ctx, change,
                      f"{reason[:1].upper()}{reason[1:]} — approve a SHA, not a branch. "
                      "Reviewers, please look again.")
    cid = format_change_id(change.id or 0)
    for user in sorted(approvers - {change.author_id}):
        await dm(loaded.session, ctx, change, user,
                 f"*{cid}* changed since you approved it ({reason}): please review it again.",
                 key=f"re-review:{change.id}:r{change.revision}:{user}")
    return True


async def new_head(loaded: Loaded, ctx: Context, sha: str, info: dict) -> bool:
    """The pull request's head moved to `sha`: CI starts over, approvals reset (policy).
    `info` is the pr_info being built; the caller stores it. True when the head changed."""
    change = loaded.change
    old = change.head_sha
    if not sha or old == sha:
        return False
    if old:
        info["previous_heads"] = [*info.get("previous_heads", []), old][-20:]
    change.head_sha = sha
    change.ci_state, change.ci_detail = "none", {"sha": sha}
    if old is None:
        return True
    await audit(loaded.session, ctx, change, "github", "new_commit", sha=sha, previous=old)
    facts = loaded.facts
    if push_resets_approvals(facts, ctx.policy):
        await reset_approvals(loaded, ctx, facts, sha=sha,
                              reason=f"approvals reset: new commit {sha}")
    return True


def _is_stale(change: Change, info: dict, head_sha: str) -> bool:
    """A read made before a push we already know of: its head is one we moved away from."""
    return head_sha != change.head_sha and head_sha in info.get("previous_heads", [])


# --------------------------------------------------------------------------- applying reads


async def apply_pull(loaded: Loaded, ctx: Context, pull: PullInfo) -> bool:
    """Store what the pull request says; False (nothing stored) for a stale read."""
    change = loaded.change
    info = dict(change.pr_info)
    if _is_stale(change, info, pull.head_sha):
        return False
    await new_head(loaded, ctx, pull.head_sha, info)
    before = info.get("state"), info.get("merged")
    info.update(
        repo=pull.ref.full_name, number=pull.ref.number, url=pull.url, title=pull.title,
        author=pull.author, base=pull.base, head=pull.head, state=pull.state,
        merged=pull.merged, files=list(pull.files),
    )
    change.pr_info = info
    if pull.merged and pull.merge_sha and change.merge_sha != pull.merge_sha:
        await record_merge(loaded, ctx, pull.merge_sha, by=None)
    elif before[0] is not None and before != (pull.state, pull.merged):
        await audit(loaded.session, ctx, change, "github", f"pr_{pull.state}", url=pull.url)
    return True


async def record_merge(loaded: Loaded, ctx: Context, merge_sha: str, by: str | None) -> None:
    change = loaded.change
    info = dict(change.pr_info)
    info.update(state="closed", merged=True)
    change.pr_info = info
    change.merge_sha = merge_sha
    await audit(loaded.session, ctx, change, by or "github", "pr_merged", merge_sha=merge_sha,
                head_sha=change.head_sha)
    await thread_note(loaded.session, ctx, change,
                      f"The pull request was merged as `{short(merge_sha)}`"
                      + (f" by `{by.removeprefix('gh:')}`." if by else "."))


async def apply_ci(loaded: Loaded, ctx: Context, ci: CiResult) -> bool:
    """Store CI of the head commit (a result for another commit is ignored)."""
    change = loaded.change
    if ci.sha != change.head_sha:
        return False
    old = change.ci_state
    change.ci_state = ci.state
    # Every check with its state and link (the evidence pack names each); the failing and
    # running ones apart, as the gate and the card read them.
    change.ci_detail = {
        "sha": ci.sha,
        "checks": [{"name": c.name, "state": c.state, "url": c.url} for c in ci.checks],
        "failing": [{"name": c.name, "url": c.url} for c in ci.failing],
        "pending": [{"name": c.name, "url": c.url} for c in ci.pending],
    }
    change.github_error = None
    if old != ci.state:
        failing = [c.name for c in ci.failing]
        await audit(loaded.session, ctx, change, "github", "ci_changed", state=ci.state,
                    previous=old, sha=ci.sha, failing=failing)
        if ci.state == "failure" and is_slack_user(change.author_id):
            cid = format_change_id(change.id or 0)
            await dm(loaded.session, ctx, change, change.author_id,
                     f"CI failed on *{cid}* (commit `{short(ci.sha)}`): {', '.join(failing)}. "
                     "The production gate stays closed until the checks pass.",
                     key=f"ci-failed:{change.id}:{ci.sha}")
    return True


async def record_reviews(loaded: Loaded, ctx: Context, reviews: Sequence[ReviewBy]) -> None:
    """GitHub reviews as evidence (who, when, which commit), each recorded once; an approval
    of the head commit by someone linked to Slack, other than the author, counts (policy)."""
    change = loaded.change
    info = dict(change.pr_info)
    entries = [dict(e) for e in info.get("reviews", [])]
    before = loaded.facts
    withdrawn = False
    for by in sorted(reviews, key=lambda r: r.review.submitted_at):
        review = by.review
        if review.state not in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            continue  # comments are conversation, not a decision
        outcome, withdrew = await _decide(loaded, ctx, by)
        withdrawn = withdrawn or withdrew
        entry = next((e for e in entries if review.id and e.get("id") == review.id), None)
        if entry is not None and entry["state"] == review.state:
            entry.update(outcome=outcome, slack_user=by.slack_user)
            continue
        if entry is None:
            entry = {"id": review.id}
            entries.append(entry)
        entry.update(login=review.login, state=review.state, commit=review.commit_id,
                     at=review.submitted_at.isoformat(), slack_user=by.slack_user,
                     outcome=outcome)
        await audit(loaded.session, ctx, change, f"gh:{review.login}", "github_review",
                    login=review.login, state=review.state, commit=review.commit_id,
                    submitted_at=review.submitted_at.isoformat(), slack_user=by.slack_user,
                    outcome=outcome)
    info["reviews"] = entries[-50:]
    change.pr_info = info
    await loaded.session.flush()
    after = loaded.facts
    new_status = status_after_withdrawal(after, ctx.policy) if withdrawn else after.status
    if new_status != after.status:
        change.status = new_status.value
        change.updated_at = ctx.clock.now()
        await audit(loaded.session, ctx, change, "changebot", "approval_withdrawn",
                    reason="a GitHub review no longer approves it")
        await thread_note(loaded.session, ctx, change, "An approval given on GitHub was "
                          "withdrawn: the change is back in review.")
        return
    new_status = status_after_vote(after, ctx.policy)
    if new_status != after.status:
        change.status = new_status.value
        change.updated_at = ctx.clock.now()
        await audit(loaded.session, ctx, change, "changebot", "approved",
                    approvers=[v.user for v in after.approvals])
        if is_slack_user(change.author_id):
            cid = format_change_id(change.id or 0)
            await dm(loaded.session, ctx, change, change.author_id,
                     f"*{cid}* is approved: its approvals are met.",
                     key=f"approved:{change.id}:r{change.revision}")
    elif approval_progress(after, ctx.policy) != approval_progress(before, ctx.policy):
        change.updated_at = ctx.clock.now()


async def _decide(loaded: Loaded, ctx: Context, by: ReviewBy) -> tuple[str, bool]:
    """Make the review's decision the login's current one on this revision. Returns what it
    did, in words, and whether it withdrew an approval that counted."""
    change, review = loaded.change, by.review
    actor = f"gh:{review.login.lower()}"
    row = next((a for a in loaded.approvals if a.revision == change.revision
                and a.kind == "peer" and a.actor == actor), None)
    if row is not None and row.created_at > review.submitted_at:
        return "superseded by a later review", False
    decision = {"APPROVED": "approved", "CHANGES_REQUESTED": "changes_requested",
                "DISMISSED": "dismissed"}[review.state]
    if decision == "approved":
        if by.slack_user is not None and by.slack_user == change.author_id:
            return "not counted: the author's own review", False
        if review.commit_id != change.head_sha:
            return (f"not counted: it approves commit {short(review.commit_id)}, "
                    f"the head is {short(change.head_sha)}"), False
        # Only whether the change can still be approved: the same person approving in Slack
        # and on GitHub is counted once by the rules, not refused here.
        allowed = may_approve(dataclasses.replace(loaded.facts, approvals=()),
                              by.slack_user or actor)
        if not allowed.allowed and row is None:
            return f"not counted: {allowed.reason}", False
    elif row is None:
        return "recorded", False
    if row is None:
        row = Approval(change_id=change.id or 0, revision=change.revision, kind="peer",
                       decision=decision, actor=actor, created_at=review.submitted_at)
        loaded.approvals.append(row)
    withdrew = row.decision == "approved" and decision != "approved"
    if row.decision != decision or row.id is None:
        row.tech_lead = by.tech_lead  # standing when deciding; kept while the decision stands
    row.decision = decision
    row.user_id = by.slack_user
    row.github_login = review.login
    row.source = "github"
    row.commit_sha = review.commit_id
    row.created_at = review.submitted_at
    loaded.session.add(row)
    if decision != "approved":
        return "the login's earlier approval no longer counts", withdrew
    if not ctx.policy.github.count_pr_reviews:
        return "recorded: GitHub reviews do not count by policy", False
    if by.slack_user is None:
        return "not counted yet: the GitHub login is not linked to a Slack user", False
    return f"counted as <@{by.slack_user}>", False


async def recheck_security(loaded: Loaded, ctx: Context) -> None:
    """The changed files feed the security-review path triggers: a review that becomes
    required is routed to the security team, one that no longer applies stops waiting."""
    from bot.security import review as security_review

    await security_review.reassess(loaded.session, ctx, loaded.change)
