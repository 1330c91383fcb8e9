"""Read-only questions the handlers ask about changes."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError

from bot.change.card import card_input
from bot.change.card_view import CardInput
from bot.context import Context
from bot.schedule.declared import declared_freezes
from storage import repo
from storage.models import AuditEvent, Change


@dataclass(frozen=True)
class Summary:
    change: Change
    card: CardInput


async def open_changes(ctx: Context, viewer: str) -> list[Summary]:
    async with ctx.db.session() as session:
        changes = await repo.open_changes(session, first_author=viewer)
        approvals = await repo.approvals_by_change(session, [c.id for c in changes])
        return [Summary(c, card_input(ctx, c, approvals[c.id])) for c in changes]


async def change_with_history(
    ctx: Context, change_id: int
) -> tuple[Summary, Sequence[AuditEvent]] | None:
    async with ctx.db.session() as session:
        change = await repo.get_change(session, change_id)
        if change is None:
            return None
        approvals = await repo.approvals_of(session, change_id)
        history = await repo.audit_history(session, change_id)
        freezes = await declared_freezes(session, change.deployed_at or ctx.clock.now())
    return Summary(change, card_input(ctx, change, approvals, freezes)), history


@dataclass(frozen=True)
class Home:
    mine: list[Summary]
    to_review: list[Summary]
    links: dict[int, str] = field(default_factory=dict)  # change id -> its card's permalink


async def home_of(ctx: Context, user: str) -> Home:
    """The person's open changes, and the changes waiting for their review."""
    summaries = await open_changes(ctx, user)
    mine = [s for s in summaries if s.change.author_id == user]
    to_review = [
        s for s in summaries
        if s.change.author_id != user
        and s.card.facts.status.value in ("proposed", "in_review")
        and user not in {v.user for v in s.card.facts.approvals}
    ]
    # Changes that asked for this person by name come first.
    to_review.sort(key=lambda s: user not in s.change.reviewers)
    shown = [*mine[:MAX_LINKED], *to_review[:MAX_LINKED]]
    return Home(mine, to_review, await card_links(ctx, [s.change for s in shown]))


MAX_LINKED = 15  # the Home tab lists at most this many per section


async def card_links(ctx: Context, changes: Sequence[Change]) -> dict[int, str]:
    """Each posted card's permalink; a card Slack cannot link to now is shown unlinked."""

    async def link(change: Change) -> tuple[int, str] | None:
        if change.card_channel is None or change.card_ts is None:
            return None
        try:
            found = await ctx.slack.chat_getPermalink(channel=change.card_channel,
                                                      message_ts=change.card_ts)
        except SlackApiError:
            return None
        return change.id or 0, str(found["permalink"])

    found = await asyncio.gather(*(link(c) for c in changes))
    return dict(pair for pair in found if pair is not None)


HISTORY_PAGE_SIZE = 20


@dataclass(frozen=True)
class HistoryPage:
    change: Change
    events: Sequence[AuditEvent]
    page: int  # 0 is the oldest events
    pages: int
    total: int


async def history_page(ctx: Context, change_id: int, page: int,
                       size: int = HISTORY_PAGE_SIZE) -> HistoryPage | None:
    async with ctx.db.session() as session:
        change = await repo.get_change(session, change_id)
        if change is None:
            return None
        events, total = await repo.audit_page(session, change_id, offset=max(page, 0) * size,
                                              limit=size)
    pages = max((total + size - 1) // size, 1)
    if page >= pages and total:  # the page asked for is past the end: show the last one
        return await history_page(ctx, change_id, pages - 1, size)
    return HistoryPage(change, events, max(page, 0), pages, total)
