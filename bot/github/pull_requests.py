"""Step 2 and the GitHub half of the evidence: the pull request a change links to.

What GitHub says about the pull request (title, branches, head commit, changed files, CI,
reviews) is read off the request path by the reminder kinds of `bot.github.sync`, or comes
with a webhook (`bot.github.events`), and is applied here: one transaction per change, the
change row locked, an audit event for every change of state, the card refreshed after.

"Approve a SHA, not a branch": a new head commit re-evaluates CI and, by policy, resets the
approvals (the change's revision goes up, so approvals of the old one stop counting), and a
GitHub review counts only for the commit it approved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.facts import ChangeFacts
from bot.change.gates import owner_awaited
from bot.change.states import format_change_id
from bot.change.transition import transition
from bot.change.work import Loaded, audit, dm, is_slack_user, thread_note
from bot.context import Context
from bot.flows import review as review_flow
from bot.github.client import CiResult, PrRef, PullInfo, Review, parse_pr_url
from bot.github.codeowners_rules import CodeOwners
from bot.review.rules import (
    approval_progress,
    may_approve,
    push_resets_approvals,
    status_after_push,
)
from bot.review.standing import Standing
from bot.security import routing as security
from bot.slack import outbox
from storage.github_store import repo_key
from storage.models import Approval, Change

NOT_CONNECTED = "GitHub is not connected"
SYNC = "github_sync"


def short(sha: str | None) -> str:
    return (sha or "")[:7]


@dataclass(frozen=True)
class ReviewBy:
    """A GitHub review and the Slack user behind its login, when known."""

    review: Review
    slack_user: str | None = None
    tech_lead: bool = False
    infrastructure: bool = False
    eligible: bool = True  # counts by groups.reviewers (bot.review.standing)

    @classmethod
    def of(cls, review: Review, slack_user: str | None, roles: Standing | None) -> ReviewBy:
        roles = roles or Standing()
        return cls(review, slack_user, roles.tech_lead, roles.infrastructure, roles.eligible)


@dataclass(frozen=True)
class Read:
    """What one read of GitHub brought (bot.github.sync); parts left None were not read."""

    pull: PullInfo | None = None
    ci: CiResult | None = None
    reviews: tuple[ReviewBy, ...] | None = None
    pull_author: str | None = None  # the Slack user behind the pull request's author
    codeowners: CodeOwners | None = None  # what CODEOWNERS says of the pull's files


# --------------------------------------------------------------------------- linking


def attach(change: Change, ref: PrRef | None) -> bool:
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
    return await outbox.schedule(
        session, ctx, key=key or f"{SYNC}:{change.id}:{uuid.uuid4().hex}", kind=SYNC,
        change_id=change.id, payload={"why": why} if why else {},
    )


async def on_proposal(session: AsyncSession, ctx: Context, change: Change) -> bool:
    """A proposal (or revision) with a PR link has the PR read from GitHub. True when the
    change is now linked to a pull request it was not linked to before."""
    try:
        ref = parse_pr_url(change.pr_url) if change.pr_url else None
    except ValueError:  # the modal checks the link; an old row may hold anything
        ref = None
    linked = attach(change, ref)
    if ref is None:
        return False
    if ctx.github is None:
        note_not_connected(change)
    else:
        digest = hashlib.sha256((change.pr_url or "").encode()).hexdigest()[:12]
        await schedule_sync(session, ctx, change, why="proposal",
                            key=f"{SYNC}:{change.id}:r{change.revision}:{digest}")
    return linked


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
    await transition(loaded.session, ctx, change, new_status, actor="changebot",
                     action="approvals_reset", reason=reason, sha=sha,
                     revision=change.revision, previous_status=facts.status.value)
    await thread_note(loaded.session, ctx, change,
                      f"{reason[:1].upper()}{reason[1:]} — approve a SHA, not a branch. "
                      "Reviewers, please look again.")
    if change.security_required:
        # The security review was of what was there before: the team is asked again
        # (its earlier decision no longer counts, and it would otherwise wait unasked).
        await security.ask_if_needed(loaded.session, ctx, change)
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
        # Decided before GitHub was first read: bound to the first head read.
        for decision in loaded.approvals:
            if decision.revision == change.revision and decision.commit_sha is None:
                decision.commit_sha = sha
                loaded.session.add(decision)
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


async def apply_pull(loaded: Loaded, ctx: Context, pull: PullInfo,
                     author_user: str | None = None, owners: CodeOwners | None = None) -> bool:
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
        merged=pull.merged, files=list(pull.files), author_user=author_user,
        labels=list(pull.labels),
    )
    if owners is not None:
        info["codeowners"] = owners.as_record()
    if pull.first_commit_at is not None:  # where DORA's lead time starts (bot.insights)
        info["first_commit_at"] = pull.first_commit_at.isoformat()
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
    counted_by: str | None = None  # who, in Slack, gave the last approval that counts
    for by in sorted(reviews, key=lambda r: r.review.submitted_at):
        review = by.review
        if review.state not in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            continue  # comments are conversation, not a decision
        outcome, withdrew = await _decide(loaded, ctx, by)
        withdrawn = withdrawn or withdrew
        if outcome.startswith("counted as"):
            counted_by = by.slack_user
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
    if withdrawn and await review_flow.approval_withdrawn(loaded.session, ctx, change, after):
        return
    await review_flow.approval_counted(loaded.session, ctx, change, before, after,
                                       by=counted_by or "changebot")
    if approval_progress(after, ctx.policy) != approval_progress(before, ctx.policy):
        change.updated_at = ctx.clock.now()


def _owner_awaited(facts: ChangeFacts, ctx: Context, by: ReviewBy) -> bool:
    """A code owner's review counts though they are not one of the reviewers."""
    return any(owner_awaited(facts, ctx.policy, who) for who in
               (by.review.login.lower(), by.slack_user) if who)


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
        pr_author = (change.pr_info.get("author") or "").lower()
        if (by.slack_user is not None and loaded.facts.is_author(by.slack_user)) or (
                review.login.lower() == pr_author):
            return "not counted: the author's own review", False
        if not by.eligible and not _owner_awaited(loaded.facts, ctx, by):
            return "not counted: not one of the reviewers (groups.reviewers)", False
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
        row.infrastructure = by.infrastructure
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
