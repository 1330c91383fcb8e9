"""The History button of `/change show` and the pages of its modal."""

import json
import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change.states import format_change_id
from bot.context import Context
from bot.overview import queries
from bot.overview.history import HISTORY_BUTTON, HISTORY_PAGE_BUTTON, history_modal
from handlers.common import after_ack, tell


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(HISTORY_BUTTON)
    async def on_history(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        change_id = int(body["actions"][0]["value"])

        async def work() -> None:
            page = await queries.history_page(ctx, change_id, 0)
            if page is None:
                await tell(ctx, body, respond, f"There is no {format_change_id(change_id)}.")
                return
            await ctx.slack.views_open(trigger_id=body["trigger_id"], view=history_modal(page))

        after_ack(ctx, body, respond, work(), "open history")

    @app.action(re.compile(f"^{HISTORY_PAGE_BUTTON}_"))
    async def on_page(ack: AsyncAck, body: dict) -> None:
        await ack()
        wanted = json.loads(body["actions"][0]["value"])

        async def work() -> None:
            page = await queries.history_page(ctx, int(wanted["change_id"]), int(wanted["page"]))
            if page is not None:
                await ctx.slack.views_update(view_id=body["view"]["id"], view=history_modal(page))

        after_ack(ctx, body, None, work(), "history page")
