"""Step 8: rollback, at any time after a production deployment; started, then finished (how
long it took is evidence)."""

from __future__ import annotations

from datetime import timedelta

from bot.change.audit_actions import ROLLBACK_STARTED
from bot.change.states import Status, format_change_id
from bot.change.transition import transition
from bot.change.work import Loaded, audit
from bot.context import Context
from bot.deployment import views as views
from bot.deployment.rules import (
    ROLLBACK_METHODS,
    ROLLBACK_TRIGGERS,
    may_finish_rollback,
    may_operate,
    rollback_duration,
)
from bot.deployment.steps import StepOutcome, on_change, open_form, refused
from bot.flows import deployment as flow


async def rollback_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    return await open_form(ctx, change_id, user,
                           lambda facts, deployer: may_operate(facts, user, deployer, "rollback"),
                           lambda _: views.rollback_modal(change_id))


async def start_rollback(ctx: Context, change_id: int, user: str, *, trigger: str | None,
                         method: str | None, notes: str) -> StepOutcome:
    if trigger not in ROLLBACK_TRIGGERS:
        return refused("Choose why you roll it back.", "trigger")
    if method not in ROLLBACK_METHODS:
        return refused("Choose how you roll it back.", "method")
    if "other" in (trigger, method) and not notes:
        return refused("Say what happened when you choose “Other”.", "notes")

    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        decision = may_operate(facts, user, deployer, "rollback")
        if not decision:
            return refused(decision.reason, "trigger")
        change.rollback_started_at = change.closed_at = ctx.clock.now()
        change.rollback = {"trigger": trigger, "method": method, "notes": notes, "by": user,
                           "from_status": facts.status.value}
        await transition(loaded.session, ctx, change, Status.rolled_back, actor=user,
                         action=ROLLBACK_STARTED, trigger=trigger, method=method, notes=notes)
        what = f"{ROLLBACK_TRIGGERS[trigger]} — {ROLLBACK_METHODS[method]}"
        await flow.rollback_started(loaded, ctx, user, what, notes)
        return StepOutcome(True, f"Rollback of {format_change_id(change_id)} started. Press "
                           "*Rollback finished* on the card when it is done.", change)

    return await on_change(ctx, change_id, user, act)


async def finish_rollback(ctx: Context, change_id: int, user: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        decision = may_finish_rollback(facts, user, deployer)
        if not decision:
            return refused(decision.reason)
        change.rollback_finished_at = change.updated_at = ctx.clock.now()
        took = rollback_duration(loaded.facts) or timedelta(0)
        await audit(loaded.session, ctx, change, user, "rollback_finished",
                    duration_seconds=int(took.total_seconds()))
        await flow.rollback_finished(loaded, ctx, user, took)
        return StepOutcome(True, f"Rollback of {format_change_id(change_id)} finished: it "
                           f"took {views.spell(took)}.", change)

    return await on_change(ctx, change_id, user, act)
