"""`/change freeze …`, `/change unfreeze FRZ-n` and `/change calendar …`: parse, call
bot.schedule, answer the person (ephemeral)."""

import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.context import Context
from bot.schedule import freezes
from bot.schedule.calendar import Invalid as BadWeek
from bot.schedule.calendar_page import calendar_for, calendar_page
from bot.schedule.calendar_view import PAGE_ACTION
from bot.schedule.declare import USAGE
from bot.slack import payloads
from handlers.common import after_ack, answer_after_ack, ephemeral


async def freeze_command(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                         args: list[str]) -> None:
    """`/change freeze list`, or `/change freeze FROM TO [ZONE] REASON` (tech leads)."""
    if not args:
        await ack(text=f"Declare a freeze with {USAGE}; `/change freeze list` shows them.",
                  response_type="ephemeral")
        return

    async def answer(user: str) -> dict:
        if [a.lower() for a in args] == ["list"]:
            return await freezes.list_message(ctx)
        return ephemeral((await freezes.declare(ctx, user, args)).text)

    await answer_after_ack(ctx, ack, respond, command, answer, "freeze")


async def unfreeze_command(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                           args: list[str]) -> None:
    """`/change unfreeze FRZ-n` (tech leads)."""

    async def answer(user: str) -> dict:
        return ephemeral((await freezes.lift(ctx, user, args)).text)

    await answer_after_ack(ctx, ack, respond, command, answer, "unfreeze")


async def calendar_command(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                           args: list[str]) -> None:
    """`/change calendar [this week|next week|YYYY-MM-DD]`."""

    async def answer(user: str) -> dict:
        try:
            return await calendar_for(ctx, user, " ".join(args))
        except BadWeek as invalid:
            return ephemeral(str(invalid))

    await answer_after_ack(ctx, ack, respond, command, answer, "calendar")


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(re.compile(f"^{PAGE_ACTION}_"))
    async def on_page(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        who = payloads.click(body)
        user, value = who.user, who.value or ""

        async def work() -> None:
            try:
                message = await calendar_page(ctx, user, value)
            except BadWeek as invalid:
                await respond(text=str(invalid), response_type="ephemeral",
                              replace_original=False)
                return
            await respond(**message, replace_original=True)

        after_ack(ctx, who, respond, work(), "calendar page")
