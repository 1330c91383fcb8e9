"""What every use case on a change works with: one transaction on the locked change, the
outcome in words for the person who asked, the audit event, and the Slack messages that
follow (scheduled as rows in the same transaction; the sweeper sends them after the commit).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.facts import ChangeFacts
from bot.change.rows import facts_of
from bot.change.states import format_change_id
from bot.context import Context
from bot.overview.desk_refresh import schedule_desks
from bot.schedule.declared import declared_freezes
from bot.schedule.freeze import Freeze
from bot.slack import outbox as notify
from storage import github_store, repo
from storage.models import Approval, Change


@dataclass(frozen=True)
class Outcome:
    """What happened, in words for the person who asked (shown ephemerally)."""

    ok: bool
    message: str
    change: Change | None = None


def refused(message: str) -> Outcome:
    return Outcome(False, message)


@dataclass
class Loaded:
    session: AsyncSession
    change: Change
    approvals: list[Approval]
    freezes: tuple[Freeze, ...] = ()  # the declared freezes from now on (the Freeze gate)

    @property
    def facts(self) -> ChangeFacts:
        return facts_of(self.change, self.approvals, self.freezes)

    def facts_at(self, sha: str | None) -> ChangeFacts:
        """The facts with only the approvals and security decisions given for commit `sha`
        (an approval is bound to the commit it was given for); all of them without one."""
        return facts_of(self.change, self.approvals, self.freezes, sha)


class NoSuchChange(Exception):  # noqa: N818
    pass


def use_case(work: Callable[..., Awaitable[Outcome]]) -> Callable[..., Awaitable[Outcome]]:
    """A person's action on one change: an unknown change is refused in words, and once the
    transaction committed, the Slack messages it scheduled are sent at once."""

    @functools.wraps(work)
    async def run(ctx: Context, *args: Any, **kwargs: Any) -> Outcome:
        try:
            outcome = await work(ctx, *args, **kwargs)
        except NoSuchChange as missing:
            return refused(str(missing))
        if outcome.ok:
            ctx.sweeper.kick()
        return outcome

    return run


@asynccontextmanager
async def editing(ctx: Context, change_id: int) -> AsyncIterator[Loaded]:
    """One transaction on one change, locked against concurrent decisions."""
    async with ctx.db.session() as session:
        change = await repo.get_change(session, change_id, lock=True)
        if change is None:
            raise NoSuchChange(f"There is no {format_change_id(change_id)}.")
        approvals = list(await repo.approvals_of(session, change_id))
        freezes = await declared_freezes(session, ctx.clock.now())
        yield Loaded(session, change, approvals, freezes)


async def lock(session: AsyncSession, change_id: int, now: datetime | None = None
               ) -> Loaded | None:
    """The change locked in the caller's transaction, with its approvals (and the declared
    freezes from `now` on, when a deployment may be at stake)."""
    change = await repo.get_change(session, change_id, lock=True)
    if change is None:
        return None
    freezes = await declared_freezes(session, now) if now else ()
    return Loaded(session, change, list(await repo.approvals_of(session, change_id)), freezes)


async def audit(
    session: AsyncSession, ctx: Context, change: Change, actor: str, action: str, **detail: Any
) -> None:
    await repo.add_audit(session, at=ctx.clock.now(), actor=actor, action=action,
                         change_id=change.id, detail=detail)


# Re-evaluate the gates where changes ship (bot.github.merge_gate.recheck): scheduled with
# every card refresh, since the card is refreshed after every change of state, in every flow.
GATES_RECHECK = "github_gates"


async def refresh_card(session: AsyncSession, ctx: Context, change: Change) -> None:
    await notify.schedule(session, ctx, key=f"card:{change.id}:{uuid.uuid4().hex}",
                          kind="card", change_id=change.id)
    await schedule_desks(session, ctx, change)
    if ctx.github is None or not change.pr_url or change.id is None:
        return
    now = ctx.clock.now()
    prefix = f"{GATES_RECHECK}:{change.id}:"
    # One pending re-evaluation is enough: it reads the change as it is when it runs.
    if await github_store.pending_reminder(session, change.id, GATES_RECHECK,
                                           key_prefix=prefix, unclaimed_at=now):
        return
    await notify.schedule(session, ctx, key=prefix + uuid.uuid4().hex, kind=GATES_RECHECK,
                          change_id=change.id, due_at=now)


async def thread_note(session: AsyncSession, ctx: Context, change: Change, text: str,
                      key: str | None = None) -> bool:
    """A note in the card's thread; False when one with this key was scheduled already."""
    return await notify.schedule(session, ctx, key=key or f"thread:{change.id}:{uuid.uuid4().hex}",
                                 kind="thread", change_id=change.id, payload={"text": text})


async def dm(session: AsyncSession, ctx: Context, change: Change, user: str, text: str, *,
             key: str, link_card: bool = True, **payload: Any) -> bool:
    """A direct message; False when one with this key was scheduled already, or when the
    person is known only by a GitHub login (`gh:…`) and so cannot be written to in Slack."""
    if not is_slack_user(user):
        return False
    return await notify.schedule(session, ctx, key=key, kind="dm", change_id=change.id,
                                 recipient=user, payload={"text": text, "link_card": link_card,
                                                          **payload})


def is_slack_user(user_id: str | None) -> bool:
    """A Slack user id (`U…`, `W…`), as opposed to `gh:<login>` or `changebot`."""
    return bool(user_id) and (user_id or "")[:1] in ("U", "W")
