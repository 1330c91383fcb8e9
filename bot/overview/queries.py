"""Read-only questions the handlers ask about changes."""

from collections.abc import Sequence
from dataclasses import dataclass

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
