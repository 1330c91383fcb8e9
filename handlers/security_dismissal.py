"""Step 4 in Slack: "No security review needed", for a review keywords alone asked for."""

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change.states import format_change_id
from bot.context import Context
from bot.proposal.views import reason_modal
from bot.security import dismissal
from bot.security.views import DISMISS
from bot.slack import payloads
from bot.slack.payloads import Click
from handlers.common import on_change_click, tell
from handlers.review import read_reason


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(DISMISS)
    async def on_dismiss(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work(who: Click, change_id: int) -> None:
            allowed = await dismissal.check_dismisser(ctx, change_id, who.user)
            if not allowed.ok or allowed.change is None:
                await tell(ctx, who, respond, allowed.message)
                return
            cid = format_change_id(change_id)
            await ctx.slack.views_open(trigger_id=who.trigger_id, view=reason_modal(
                callback_id=dismissal.DISMISS_CALLBACK, change_id=change_id,
                title="No review needed", submit="Dismiss review",
                intro=f"*{cid}: {allowed.change.title}* was sent for a security review by "
                "keywords alone. Say why it needs none.",
                label="Why is no security review needed?",
                hint="Kept on the record with your name; the card shows it.",
            ))

        await on_change_click(ctx, body, respond, work, "open security dismissal modal")

    @app.view(dismissal.DISMISS_CALLBACK)
    async def on_dismiss_reason(ack: AsyncAck, body: dict, view: dict) -> None:
        read = await read_reason(ack, view)
        if read is None:
            return
        change_id, reason = read
        outcome = await dismissal.dismiss(ctx, change_id, payloads.click(body).user, reason)
        if not outcome.ok:
            await ack(response_action="errors", errors={"reason": outcome.message})
            return
        await ack()
