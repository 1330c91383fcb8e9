"""Step 7, post-deployment verification: once the monitoring window is over, whoever
deployed it checks production and closes the change (or rolls it back, Step 8)."""

from __future__ import annotations

from collections.abc import Collection

from bot.change.audit_actions import VERIFIED_IN_PRODUCTION
from bot.change.states import Status, format_change_id
from bot.change.transition import transition
from bot.change.work import Loaded
from bot.context import Context
from bot.deployment import views as views
from bot.deployment.rules import PRODUCTION_CHECKS, check_verification, may_verify_production
from bot.deployment.steps import StepOutcome, on_change, open_form, refused, validation_text
from bot.flows import deployment as flow


async def verification_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    return await open_form(
        ctx, change_id, user,
        lambda facts, deployer: may_verify_production(facts, user, deployer, ctx.policy,
                                                      ctx.clock.now()),
        lambda _: views.verification_modal(change_id))


async def verify_production(ctx: Context, change_id: int, user: str, *,
                            checks: Collection[str], notes: str) -> StepOutcome:
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        now = ctx.clock.now()
        decision = may_verify_production(facts, user, deployer, ctx.policy, now)
        if not decision:
            return refused(decision.reason, "checks")
        verified = check_verification(checks)
        if not verified:
            return refused(verified.reason, "checks")
        ticked = [c for c in PRODUCTION_CHECKS if c in checks]
        change.verified_at = change.closed_at = now
        change.verification = {"checks": ticked, "notes": notes, "by": user}
        await transition(loaded.session, ctx, change, Status.completed, actor=user,
                         action=VERIFIED_IN_PRODUCTION, checks=ticked, notes=notes)
        await flow.verified(loaded, ctx, user, f"({validation_text(checks, PRODUCTION_CHECKS)})"
                                               f": completed." + views.quote(notes))
        return StepOutcome(True, f"{format_change_id(change_id)} is verified and completed.",
                           change)

    return await on_change(ctx, change_id, user, act)
