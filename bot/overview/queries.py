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


LIST_PAGE_SIZE = 20


@dataclass(frozen=True)
class ListPage:
    """One page of the open changes (the viewer's own first, then the newest)."""

    summaries: list[Summary]
    page: int  # 0 is the first
    pages: int
    total: int
    size: int

    @property
    def after(self) -> int:
        """How many come on the pages after this one."""
        return max(self.total - (self.page + 1) * self.size, 0)


async def open_changes(ctx: Context, viewer: str, page: int = 0,
                       size: int = LIST_PAGE_SIZE) -> ListPage:
    """A page of `/change list`: its changes are the only ones loaded, whatever the count
    (past the last page: the last one)."""
    async with ctx.db.session() as session:
        ids = await repo.open_change_ids(session, viewer)
        pages = max((len(ids) + size - 1) // size, 1)
        page = min(max(page, 0), pages - 1)
        shown = ids[page * size:(page + 1) * size]
        changes = await repo.changes_by_ids(session, shown)
        approvals = await repo.approvals_by_change(session, shown)
    return ListPage([Summary(c, card_input(ctx, c, approvals[c.id])) for c in changes],
                    page, pages, len(ids), size)


SHOW_EVENTS = 20  # `/change show` says the last ones (a section holds 3,000 characters);
# its History button pages through them all


@dataclass(frozen=True)
class Shown:
    summary: Summary
    events: Sequence[AuditEvent]  # the last SHOW_EVENTS, oldest first
    total: int  # how many events the change has


async def change_with_history(ctx: Context, change_id: int) -> Shown | None:
    async with ctx.db.session() as session:
        change = await repo.get_change(session, change_id)
        if change is None:
            return None
        approvals = await repo.approvals_of(session, change_id)
        events, total = await repo.audit_tail(session, change_id, SHOW_EVENTS)
        freezes = await declared_freezes(session, change.deployed_at or ctx.clock.now())
    return Shown(Summary(change, card_input(ctx, change, approvals, freezes)), events, total)


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
