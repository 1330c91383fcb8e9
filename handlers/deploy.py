"""Steps 5–8 in Slack: the staging, deploy, verify and rollback buttons, and their modals."""

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import deployments
from bot.context import Context
from bot.deployments import StepOutcome
from bot.views import deploy as views
from bot.views.forms import read_values
from handlers.common import after_ack, change_id_of, tell

Step = Callable[[Context, int, str], Awaitable[StepOutcome]]
Submit = Callable[..., Awaitable[StepOutcome]]


def _button(app: AsyncApp, ctx: Context, action_id: str, step: Step, name: str) -> None:
    """A card (or DM) button: do the step, or open its modal; refusals are ephemeral."""

    @app.action(action_id)
    async def on_click(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work() -> None:
            outcome = await step(ctx, change_id_of(body), body["user"]["id"])
            if outcome.view is not None:
                await ctx.slack.views_open(trigger_id=body["trigger_id"], view=outcome.view)
            else:
                await tell(ctx, body, respond, outcome.message)

        after_ack(ctx, body, respond, work(), name)


def _modal(app: AsyncApp, ctx: Context, callback_id: str, submit: Submit,
           fields: Callable[[dict[str, Any]], dict[str, Any]], default_field: str) -> None:
    """A modal's submission: recorded before the ack, so a refusal shows under its field."""

    @app.view(callback_id)
    async def on_submit(ack: AsyncAck, body: dict, view: dict) -> None:
        outcome = await submit(ctx, change_id_of(body), body["user"]["id"],
                               **fields(read_values(view)))
        if not outcome.ok:
            await ack(response_action="errors",
                      errors={outcome.field or default_field: outcome.message})
            return
        await ack()


def _checks(values: dict[str, Any]) -> dict[str, Any]:
    return {"checks": values.get("checks") or [], "notes": values.get("notes") or ""}


def register(app: AsyncApp, ctx: Context) -> None:
    _button(app, ctx, views.STAGING_DEPLOYED, deployments.mark_staging_deployed,
            "staging deployed")
    _button(app, ctx, views.STAGING_VERIFY, deployments.staging_form, "open staging modal")
    _button(app, ctx, views.DEPLOY, deployments.deploy_form, "open deploy modal")
    _button(app, ctx, views.VERIFY, deployments.verification_form, "open verification modal")
    _button(app, ctx, views.ROLLBACK, deployments.rollback_form, "open rollback modal")
    _button(app, ctx, views.ROLLBACK_FINISHED, deployments.finish_rollback, "rollback finished")

    _modal(app, ctx, views.STAGING_VERIFIED_CALLBACK, deployments.verify_staging, _checks,
           "checks")
    _modal(app, ctx, views.DEPLOY_CALLBACK, deployments.deploy,
           lambda v: {"method": v.get("method"), "notes": v.get("notes") or ""}, "method")
    _modal(app, ctx, views.VERIFIED_CALLBACK, deployments.verify_production, _checks,
           "checks")
    _modal(app, ctx, views.ROLLBACK_CALLBACK, deployments.start_rollback,
           lambda v: {"trigger": v.get("trigger"), "method": v.get("method"),
                      "notes": v.get("notes") or ""}, "trigger")
