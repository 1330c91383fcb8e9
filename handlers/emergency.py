"""Emergency changes in Slack: `/change emergency`, its modal, "Retrospective done" and
`/change list overdue`."""

import json

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import changes, emergencies
from bot.context import Context
from bot.proposals import Invalid
from bot.views import emergency as views
from bot.views.forms import read_values
from handlers.common import after_ack, step_button, step_modal
from handlers.review import command_body


async def open_emergency(ctx: Context, ack: AsyncAck, respond, command: dict, _args) -> None:
    """`/change emergency`: answer at once, then open the modal inside the trigger's 3 s."""
    await ack()

    async def work() -> None:
        await ctx.slack.views_open(trigger_id=command["trigger_id"],
                                   view=views.emergency_modal(ctx.policy))

    after_ack(ctx, command_body(command), respond, work(), "open emergency modal")


async def list_overdue(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict
                       ) -> None:
    """`/change list overdue`: emergencies whose retrospective is overdue."""
    await ack()

    async def work() -> None:
        await respond(**views.overdue_message(await emergencies.overdue(ctx), ctx.clock.now()))

    after_ack(ctx, command_body(command), respond, work(), "list overdue")


def register(app: AsyncApp, ctx: Context) -> None:
    @app.view(views.EMERGENCY_CALLBACK)
    async def on_emergency(ack: AsyncAck, body: dict, view: dict) -> None:
        user = body["user"]["id"]
        try:
            proposal = emergencies.validate_emergency(read_values(view), author=user)
        except Invalid as invalid:
            await ack(response_action="errors", errors=invalid.errors)
            return
        change_id = json.loads(view.get("private_metadata") or "{}").get("change_id")
        if change_id:
            outcome = await changes.revise(ctx, int(change_id), user, proposal)
            if not outcome.ok:
                await ack(response_action="errors", errors={"description": outcome.message})
                return
        else:
            await emergencies.declare(ctx, author=user, proposal=proposal,
                                      source_key=view["id"])
        await ack()

    step_button(app, ctx, views.RETROSPECTIVE, emergencies.retrospective_form,
                "open retrospective modal")
    step_modal(app, ctx, views.RETROSPECTIVE_CALLBACK, emergencies.record_retrospective,
               lambda v: {"document": v.get("document") or "",
                          "root_cause": v.get("root_cause") or "",
                          "follow_ups": v.get("follow_ups") or ""}, "document")
