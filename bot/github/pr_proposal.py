"""A change proposed from its pull request: "Engineer creates pull request or change ticket".

A pull request that no change links yet, whose description follows the change template
(bot.github.pr_template) or that carries the policy's `github.change_label`, becomes a
change when it is opened or edited into shape (reminder kind `github_pr_proposal`): the
card is posted, the reviewers it requests on GitHub are asked, the pull request is linked —
no Slack form. While a required field is missing, one comment on the pull request lists
what is missing (one per distinct set of missing fields) and nothing is created.
"""

from __future__ import annotations

import hashlib

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Category, Risk, Status
from bot.change.work import audit
from bot.context import Context
from bot.flows import proposal as proposal_flow
from bot.github import accounts
from bot.github.emergency_pr import (
    PullRequestPayload,
    _source_key,
    open_change,
    pull_request_fields,
)
from bot.github.pr_template import missing_comment, parse
from bot.proposal.proposals import LIMITS
from bot.runtime.sweeper import Skip
from bot.slack.outbox import schedule
from storage import github_store
from storage.models import Change, Reminder

KIND = "github_pr_proposal"
ACTIONS = frozenset({"opened", "edited", "reopened", "ready_for_review", "labeled"})
TEMPLATE_PATH = ".github/pull_request_template.md"


def _labelled(ctx: Context, pr: dict) -> bool:
    wanted = ctx.policy.github.change_label.strip().lower()
    names = [(label or {}).get("name", "").lower() for label in pr.get("labels") or []]
    return bool(wanted) and wanted in names


async def on_pull_request(session: AsyncSession, ctx: Context, payload: dict,
                          delivery: str) -> str | None:
    """A `pull_request` webhook (bot.github.events): None when it proposes nothing (no
    change process in its description, already linked, a draft, or turned off by policy)."""
    pr = payload["pull_request"]
    if not ctx.policy.github.propose_from_pull_requests or pr.get("draft") \
            or pr.get("state", "open") != "open":
        return None
    parsed = parse(pr.get("body"))
    if not (parsed.follows_template or _labelled(ctx, pr)):
        return None
    repo_name, number = payload["repository"]["full_name"], int(pr["number"])
    if await github_store.changes_linking(session, repo_name, number):
        return None
    source_key = _source_key(repo_name, number)
    missing = parsed.missing
    what = hashlib.sha256(",".join(missing).encode()).hexdigest()[:12] if missing else "open"
    await schedule(session, ctx, key=f"{KIND}:{source_key}:{what}", kind=KIND, payload={
        **pull_request_fields(payload, delivery),
        "reviewers": [r.get("login") for r in pr.get("requested_reviewers") or []
                      if r.get("login")],
    })
    if missing:
        return f"the pull request lacks {', '.join(missing)}: they will be listed on it"
    return "a change will be opened for the pull request"


async def open_from_pull_request(ctx: Context, reminder: Reminder) -> None:
    """Open the change (or comment what is missing) for the pull request of `reminder`."""
    pr = PrProposalPayload.model_validate(reminder.payload)
    parsed = parse(pr.body)
    if parsed.missing:
        if ctx.github is None:
            raise Skip("GitHub is not connected: the missing fields cannot be commented")
        await ctx.github.add_comment(pr.ref, missing_comment(parsed.missing,
                                                             template_path=TEMPLATE_PATH))
        return
    slack_author = await accounts.slack_user_for(ctx, pr.author)
    reviewers = [user for login in pr.reviewers
                 if (user := await accounts.slack_user_for(ctx, login))]
    url, fields, now = pr.link, parsed.fields, ctx.clock.now()
    change = Change(
        title=(pr.title or str(pr.ref))[:150],
        description=fields["description"][:LIMITS["description"]],
        category=Category(fields.get("category", Category.normal.value)),
        risk=Risk(fields["risk"]),
        rollback_plan=fields["rollback_plan"][:LIMITS["rollback_plan"]],
        testing=fields["testing"][:LIMITS["testing"]],
        security_notes=fields.get("security_notes", "")[:LIMITS["security_notes"]],
        pr_url=url, reviewers=reviewers,
        author_id=slack_author or accounts.unlinked_author(pr.author),
        status=Status.in_review, created_at=now, updated_at=now, source_key=pr.source_key,
    )

    async def opened(session: AsyncSession, change: Change) -> None:
        await audit(session, ctx, change, f"gh:{pr.author}", "proposed_from_github",
                    pr=str(pr.ref), url=url, author_login=pr.author, author=slack_author,
                    category=change.category, risk=change.risk,
                    category_given="category" in fields, reviewers=reviewers,
                    security_triggers=change.security_triggers)
        await proposal_flow.proposed_from_pull_request(session, ctx, change, url=url,
                                                       slack_author=slack_author)

    await open_change(ctx, pr, change, opened)


class PrProposalPayload(PullRequestPayload):
    """A pull request that proposes a change."""

    reviewers: list[str] = []
