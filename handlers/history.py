"""The History button of `/change show` and the pages of its modal."""

import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change.states import format_change_id
from bot.context import Context
from bot.overview import queries
from bot.overview.history import HISTORY_BUTTON, HISTORY_PAGE_BUTTON, history_modal
from bot.slack import payloads
from bot.slack.payloads import Click, Refused
from handlers.common import after_click, change_button, tell


def register(app: AsyncApp, ctx: Context) -> None:
    async def open_history(who: Click, respond: AsyncRespond, change_id: int) -> None:
        page = await queries.history_page(ctx, change_id, 0)
        if page is None:
            await tell(ctx, who, respond, f"There is no {format_change_id(change_id)}.")
            return
        await ctx.slack.views_open(trigger_id=who.trigger_id, view=history_modal(page))

    change_button(app, ctx, HISTORY_BUTTON, "open history", open_history)

    @app.action(re.compile(f"^{HISTORY_PAGE_BUTTON}_"))
    async def on_page(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work(who: Click) -> None:
            wanted = payloads.history_page_ref(who.value)
            if not who.view_id:  # the page buttons live in the history modal only
                raise Refused(payloads.OUT_OF_DATE)
            page = await queries.history_page(ctx, wanted.change_id, wanted.page)
            if page is None:
                await tell(ctx, who, respond,
                           f"There is no {format_change_id(wanted.change_id)}.")
                return
            await ctx.slack.views_update(view_id=who.view_id, view=history_modal(page))

        after_click(ctx, body, respond, work, "history page")
