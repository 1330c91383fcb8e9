"""Steps 5–8 in Slack: the staging, deploy, verify and rollback buttons, and their modals."""

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.context import Context
from bot.deployment import production, rollback, staging, verification
from bot.deployment import views as views
from handlers.common import step_button, step_modal

CHECKS = {"checks": list, "notes": str}  # the staging and production verification forms


def _checks(values: dict[str, Any]) -> dict[str, Any]:
    return {"checks": values.get("checks") or [], "notes": values.get("notes") or ""}


def register(app: AsyncApp, ctx: Context) -> None:
    step_button(app, ctx, views.STAGING_DEPLOYED, staging.mark_staging_deployed,
                "staging deployed")
    step_button(app, ctx, views.STAGING_VERIFY, staging.staging_form, "open staging modal")
    step_button(app, ctx, views.DEPLOY, production.deploy_form, "open deploy modal")
    step_button(app, ctx, views.VERIFY, verification.verification_form,
                "open verification modal")
    step_button(app, ctx, views.ROLLBACK, rollback.rollback_form, "open rollback modal")
    step_button(app, ctx, views.ROLLBACK_FINISHED, rollback.finish_rollback,
                "rollback finished")

    step_modal(app, ctx, views.STAGING_VERIFIED_CALLBACK, staging.verify_staging, _checks,
               "checks", CHECKS)
    step_modal(app, ctx, views.DEPLOY_CALLBACK, production.deploy,
               lambda v: {"method": v.get("method"), "notes": v.get("notes") or ""}, "method",
               {"method": str, "notes": str})
    step_modal(app, ctx, views.VERIFIED_CALLBACK, verification.verify_production, _checks,
               "checks", CHECKS)
    step_modal(app, ctx, views.ROLLBACK_CALLBACK, rollback.start_rollback,
               lambda v: {"trigger": v.get("trigger"), "method": v.get("method"),
                          "notes": v.get("notes") or ""}, "trigger",
               {"trigger": str, "method": str, "notes": str})
