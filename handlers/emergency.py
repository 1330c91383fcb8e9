"""Emergency changes in Slack: `/change emergency`, its modal, "Retrospective done" and
`/change list overdue`."""


from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.context import Context
from bot.emergency import emergencies
from bot.emergency import views as views
from handlers.common import after_ack, command_who, step_button, step_modal, submit_change_form

# Every input of the emergency form and the type of its value (see `read_values`).
EMERGENCY_FIELDS = {"impact": str, "description": str, "rollback_plan": str, "pr_url": str,
                    "fixes": str, "involved": list, "service": str}


async def open_emergency(ctx: Context, ack: AsyncAck, respond, command: dict, _args) -> None:
    """`/change emergency`: answer at once, then open the modal inside the trigger's 3 s."""
    await ack()
    who = command_who(command)

    async def work() -> None:
        await ctx.slack.views_open(trigger_id=who.trigger_id,
                                   view=views.emergency_modal(ctx.policy))

    after_ack(ctx, who, respond, work(), "open emergency modal")


async def list_overdue(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict
                       ) -> None:
    """`/change list overdue`: emergencies whose retrospective is overdue."""
    await ack()

    async def work() -> None:
        await respond(**views.overdue_message(await emergencies.overdue(ctx), ctx.clock.now()))

    after_ack(ctx, command_who(command), respond, work(), "list overdue")


def register(app: AsyncApp, ctx: Context) -> None:
    @app.view(views.EMERGENCY_CALLBACK)
    async def on_emergency(ack: AsyncAck, body: dict, view: dict) -> None:
        await submit_change_form(
            ctx, ack, body, view, first_field="description",
            fields=EMERGENCY_FIELDS,
            validate=lambda values, user: emergencies.validate_emergency(
                values, author=user, rules=ctx.policy.proposal),
            check=lambda proposal, change_id: emergencies.check_fixes(ctx, proposal, change_id),
        )

    step_button(app, ctx, views.RETROSPECTIVE, emergencies.retrospective_form,
                "open retrospective modal")
    step_modal(app, ctx, views.RETROSPECTIVE_CALLBACK, emergencies.record_retrospective,
               lambda v: {"document": v.get("document") or "",
                          "root_cause": v.get("root_cause") or "",
                          "follow_ups": v.get("follow_ups") or ""}, "document",
               {"document": str, "root_cause": str, "follow_ups": str})
