"""Gathers what a change card shows and keeps the card's address."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import update

from bot.change.card_view import CardInput, card_message
from bot.change.gates import gates
from bot.change.rows import facts_of
from bot.context import Context
from bot.schedule.conflicts import Planned
from bot.schedule.freeze import Freeze
from bot.schedule.freezes import declared_freezes
from bot.schedule.planned import conflict_notes, conflicting, planned_time_notes
from storage import repo
from storage.models import Approval, Change

NoteProvider = Callable[[Change, Sequence[Approval]], list[str]]


def security_notes(change: Change, _approvals: Sequence[Approval]) -> list[str]:
    if not change.security_required:
        return []
    from bot.security.triggers import Trigger, summary

    triggers = [Trigger(**t) for t in change.security_triggers]
    return [f":shield: Security review required — {summary(triggers)}"] if triggers else []


def revision_notes(change: Change, _approvals: Sequence[Approval]) -> list[str]:
    if change.revision == 1:
        return []
    return [f"Revision {change.revision}: approvals of earlier revisions were reset."]


# Later steps add what they know (PR state, deployment, monitoring window, …).
NOTE_PROVIDERS: list[NoteProvider] = [security_notes, revision_notes]


def card_input(ctx: Context, change: Change, approvals: Sequence[Approval],
               freezes: Sequence[Freeze] = (), conflicts: Sequence[Planned] = ()) -> CardInput:
    facts = facts_of(change, approvals, freezes)
    return CardInput(
        change_id=change.id or 0,
        revision=change.revision,
        title=change.title,
        author=change.author_id,
        description=change.description,
        rollback_plan=change.rollback_plan,
        pr_url=change.pr_url,
        planned_at=change.planned_at,
        facts=facts,
        # Once deployed, the gates are shown as they stood at the deployment.
        gates=gates(facts, ctx.policy, change.deployed_at or ctx.clock.now()),
        notes=tuple(note for provider in NOTE_PROVIDERS for note in provider(change, approvals))
        + tuple(planned_time_notes(ctx.policy, freezes, change) + conflict_notes(conflicts)),
    )


async def render(ctx: Context, change: Change) -> dict:
    async with ctx.db.session() as session:
        approvals = await repo.approvals_of(session, change.id or 0)
        freezes = await declared_freezes(session, change.deployed_at or ctx.clock.now())
        conflicts = [other for other, _ in await conflicting(session, ctx.policy, change)]
    return card_message(card_input(ctx, change, approvals, freezes, conflicts))


async def remember_card(ctx: Context, change_id: int, channel: str, ts: str) -> None:
    async with ctx.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            update(Change).where(Change.id == change_id).values(card_channel=channel, card_ts=ts)
        )
