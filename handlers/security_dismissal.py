"""Step 4 in Slack: "No security review needed", for a review keywords alone asked for."""

from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change.states import format_change_id
from bot.context import Context
from bot.proposal.views import reason_modal
from bot.security import dismissal
from bot.security.views import DISMISS
from bot.slack.payloads import Click
from handlers.common import on_change_click
from handlers.review import ask_reason, decide_with_reason


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(DISMISS)
    async def on_dismiss(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work(who: Click, change_id: int) -> None:
            allowed = await dismissal.check_dismisser(ctx, change_id, who.user)
            await ask_reason(ctx, who, respond, allowed, lambda change: reason_modal(
                callback_id=dismissal.DISMISS_CALLBACK, change_id=change_id,
                title="No review needed", submit="Dismiss review",
                intro=f"*{format_change_id(change_id)}: {change.title}* was sent for a "
                "security review by keywords alone. Say why it needs none.",
                label="Why is no security review needed?",
                hint="Kept on the record with your name; the card shows it.",
            ))

        await on_change_click(ctx, body, respond, work, "open security dismissal modal")

    @app.view(dismissal.DISMISS_CALLBACK)
    async def on_dismiss_reason(ack: AsyncAck, body: dict, view: dict) -> None:
        await decide_with_reason(ack, body, view, partial(dismissal.dismiss, ctx))
