"""Step 6: the production deployment, once every gate is open (or an emergency's)."""

from __future__ import annotations

from bot.change.audit_actions import DEPLOYED_TO_PRODUCTION
from bot.change.gates import gates
from bot.change.states import Category, format_change_id
from bot.change.transition import transition
from bot.change.work import Loaded, thread_note
from bot.context import Context
from bot.deployment import views as views
from bot.deployment.rules import (
    DEPLOY_METHODS,
    DeployDecision,
    may_deploy,
    monitoring_window,
    needs_manual_deployment,
    status_after_step,
)
from bot.deployment.steps import StepOutcome, on_change, open_form, refused
from bot.flows import deployment as flow
from bot.slack.text import slack_date


async def deploy_form(ctx: Context, change_id: int, user: str) -> StepOutcome:
    """Pressing "Deploy to production": every unmet gate at once, or the method modal."""
    return await open_form(
        ctx, change_id, user,
        lambda facts, deployer: may_deploy(facts, user, deployer, ctx.policy, ctx.clock.now()),
        lambda loaded: views.deploy_modal(
            change_id, loaded.change.title, manual=needs_manual_deployment(loaded.facts),
            emergency=loaded.facts.category == Category.emergency),
        lambda decision: _refusal(change_id, decision))


def _refusal(change_id: int, decision: DeployDecision) -> str:
    if decision.blockers:
        return views.blockers_text(change_id, decision.reason, decision.blockers)
    return decision.reason


async def deploy(ctx: Context, change_id: int, user: str, *, method: str | None,
                 notes: str) -> StepOutcome:
    """Record the production deployment (who, when, how) and start the monitoring window."""
    if method not in DEPLOY_METHODS:
        return refused("Choose how you deploy it.", "method")
    if method == "other" and not notes:
        return refused("Say how you deploy it when you choose “Other”.", "notes")

    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        change, facts = loaded.change, loaded.facts
        now = ctx.clock.now()
        decision = may_deploy(facts, user, deployer, ctx.policy, now)  # authoritative
        if not decision:
            return refused(_refusal(change_id, decision), "method")
        to = status_after_step(facts, "deployed")
        assert to is not None  # the rule allowed it
        ends = now + monitoring_window(ctx.policy, facts.category, facts.risk)
        manual = needs_manual_deployment(facts)
        change.deployed_at = now
        change.deployed_by = user
        change.deploy_method = method
        change.monitoring_ends_at = ends
        await transition(loaded.session, ctx, change, to, actor=user,
                         action=DEPLOYED_TO_PRODUCTION, method=method, notes=notes,
                         manual=manual, monitoring_ends_at=ends.isoformat(),
                         gates={g.key: g.state.value for g in gates(facts, ctx.policy, now)})
        how = DEPLOY_METHODS[method] + (", manual deployment" if manual else "")
        await thread_note(loaded.session, ctx, change,
                          f":rocket: <@{user}> deployed it to production ({how}). "
                          f"Monitoring window ends {slack_date(ends)}."
                          + views.quote(notes))
        await flow.deployed(loaded, ctx, by=user, before=facts)
        return StepOutcome(True, f"{format_change_id(change_id)} is in production.", change)

    return await on_change(ctx, change_id, user, act)
