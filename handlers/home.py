"""The App Home tab, each person's desk (bot.overview.desk): published when someone opens it,
and by the outbox when a change of theirs moves."""

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.context import Context
from bot.overview.desk import publish
from bot.proposal.views import proposal_modal
from bot.slack import payloads
from handlers.common import after_ack


def register(app: AsyncApp, ctx: Context) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(event: dict) -> None:
        opened = payloads.home_opened(event)
        if opened is None or opened.tab != "home":
            return
        user = opened.user

        async def work() -> None:
            await publish(ctx, user)

        ctx.background.spawn(work(), name="publish home")

    @app.action("home_new_change")
    async def on_new_change(ack: AsyncAck, body: dict) -> None:
        await ack()
        who = payloads.click(body)

        async def work() -> None:
            await ctx.slack.views_open(trigger_id=who.trigger_id,
                                       view=proposal_modal(ctx.policy))

        after_ack(ctx, who, None, work(), "open proposal modal from home")
