"""Step 5: deploy to staging, then validate it there (the checks the change needs)."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.audit_actions import STAGING_VERIFIED
from bot.change.states import Status, format_change_id
from bot.change.transition import transition
from bot.change.work import Loaded
from bot.context import Context
from bot.deployment import views as views
from bot.deployment.rules import (
    STAGING_CHECKS,
    check_staging_validation,
    may_operate,
    may_verify_staging,
    status_after_step,
)
from bot.deployment.steps import StepOutcome, on_change, open_form, refused, validation_text
from bot.flows import deployment as flow
from storage.models import Change


async def mark_staging_deployed(ctx: Context, change_id: int, user: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        decision = may_operate(facts, user, deployer, "staging")
        if not decision:
            return refused(decision.reason)
        change.staging_deployed_at = ctx.clock.now()
        await transition(loaded.session, ctx, change, Status.staging, actor=user,
                         action="staging_deployed")
        await flow.staging_deployed(loaded, ctx, user)
        return StepOutcome(True, f"{format_change_id(change_id)} is in staging. Press "
                           "*Staging verified* on the card once it is validated.", change)

    return await on_change(ctx, change_id, user, act)


async def staging_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    return await open_form(ctx, change_id, user,
                           lambda facts, deployer: may_verify_staging(facts, user, deployer),
                           lambda loaded: views.staging_modal(change_id, loaded.facts))


async def verify_staging(ctx: Context, change_id: int, user: str, *,
                         checks: Collection[str], notes: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        decision = may_verify_staging(facts, user, deployer)
        if not decision:
            return refused(decision.reason)
        to = status_after_step(facts, "verify")
        assert to is not None  # the rule allowed it
        validated = check_staging_validation(facts, checks)
        if not validated:
            return refused(validated.reason, "checks")
        ticked = [c for c in STAGING_CHECKS if c in checks]
        change.staging_verified_at = ctx.clock.now()
        change.staging_validation = {"checks": ticked, "notes": notes, "by": user}
        await transition(loaded.session, ctx, change, to, actor=user, action=STAGING_VERIFIED,
                         checks=ticked, notes=notes)
        await flow.staging_verified(loaded, ctx, user,
                                    validation_text(checks, STAGING_CHECKS) + "."
                                    + views.quote(notes))
        return StepOutcome(True, f"{format_change_id(change_id)} is ready for production.",
                           change)

    return await on_change(ctx, change_id, user, act)


async def forget_staging(session: AsyncSession, ctx: Context, change: Change) -> None:
    """A revised change is a different change: what staging validated no longer holds."""
    if change.revision > 1 and change.staging_deployed_at is not None:
        change.staging_deployed_at = change.staging_verified_at = None
        change.staging_validation = {}
