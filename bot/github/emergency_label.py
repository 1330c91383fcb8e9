"""The EMERGENCY label: "Create PR with EMERGENCY label" is where the process's emergency
path starts. An emergency change with a linked pull request gets the label on GitHub
(`label_emergency`, durable and retried: reminder kind `github_label`). The other way, a
pull request labelled on GitHub opening an emergency change, is bot.github.emergency_pr.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Category
from bot.change.work import audit
from bot.context import Context
from bot.github.client import GitHubAuthError, GitHubNotFound, GitHubRateLimited, parse_pr_url
from bot.github.pull_requests import NOT_CONNECTED
from bot.runtime.sweeper import NotYet, Payload, Skip
from bot.slack.outbox import load_change, schedule
from storage.models import Change, Reminder

LABEL = "EMERGENCY"


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


async def label_when_linked(session: AsyncSession, ctx: Context, change: Change) -> None:
    """A change just linked to a pull request: an emergency's gets the label."""
    if change.category == Category.emergency.value:
        await label_emergency(ctx, change, session)


async def add_label(ctx: Context, reminder: Reminder) -> None:
    change = await load_change(ctx, reminder)
    if ctx.github is None:
        raise Skip(NOT_CONNECTED)
    if not change.pr_url or change.category != Category.emergency.value:
        raise Skip("the change has no pull request, or is no longer an emergency")
    label = LabelPayload.model_validate(reminder.payload).label
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


class LabelPayload(Payload):
    label: str = LABEL
