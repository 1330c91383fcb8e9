"""The infrastructure team is asked for an infrastructure change ("Infrastructure Team:
approves infrastructure changes"): its user group is mentioned in the card's thread, once
per revision, as soon as the change is known to be one — at its proposal (the checkbox,
its category) or when its pull request's files are read. The gate is bot.change.gates."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.gates import infrastructure_gate, infrastructure_reasons
from bot.change.rows import facts_of
from bot.change.states import GateState
from bot.change.work import thread_note
from bot.context import Context
from storage import repo
from storage.models import Change


async def ask_if_needed(session: AsyncSession, ctx: Context, change: Change) -> None:
    group = ctx.policy.groups.infrastructure
    if group is None or change.id is None:
        return
    facts = facts_of(change, await repo.approvals_of(session, change.id))
    if infrastructure_gate(facts, ctx.policy, ctx.clock.now()).state != GateState.pending:
        return
    why = ", ".join(infrastructure_reasons(facts, ctx.policy))
    await thread_note(session, ctx, change,
                      f"<!subteam^{group}> this is an infrastructure change ({why}): it needs "
                      "an approval from one of you — *Approve* on the card.",
                      key=f"infrastructure-asked:{change.id}:r{change.revision}")
