"""Step 4 in Slack: "No security review needed", for a review keywords alone asked for."""

from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change.states import format_change_id
from bot.context import Context
from bot.proposal.views import reason_modal
from bot.security import dismissal
from bot.security.views import DISMISS
from bot.slack.payloads import Click
from handlers.common import change_button
from handlers.review import decide_with_reason, open_when_allowed


def register(app: AsyncApp, ctx: Context) -> None:
    async def ask_why(who: Click, respond: AsyncRespond, change_id: int) -> None:
        allowed = await dismissal.check_dismisser(ctx, change_id, who.user)
        await open_when_allowed(ctx, who, respond, allowed, lambda title, _author: reason_modal(
            callback_id=dismissal.DISMISS_CALLBACK, change_id=change_id,
            title="No review needed", submit="Dismiss review",
            intro=f"*{format_change_id(change_id)}: {title}* was sent for a security review "
            "by keywords alone. Say why it needs none.",
            label="Why is no security review needed?",
            hint="Kept on the record with your name; the card shows it.",
        ))

    change_button(app, ctx, DISMISS, "open security dismissal modal", ask_why)

    @app.view(dismissal.DISMISS_CALLBACK)
    async def on_dismiss_reason(ack: AsyncAck, body: dict, view: dict) -> None:
        await decide_with_reason(ack, body, view, partial(dismissal.dismiss, ctx))
