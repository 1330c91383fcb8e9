"""`/change freeze …`, `/change unfreeze FRZ-n` and `/change calendar …`: parse, call
bot.schedule, answer the person (ephemeral)."""

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.context import Context
from bot.schedule import freezes
from bot.schedule.declare import USAGE
from handlers.common import after_ack
from handlers.review import command_body


async def freeze_command(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                         args: list[str]) -> None:
    """`/change freeze list`, or `/change freeze FROM TO [ZONE] REASON` (tech leads)."""
    if not args:
        await ack(text=f"Declare a freeze with {USAGE}; `/change freeze list` shows them.",
                  response_type="ephemeral")
        return
    await ack()
    user = command["user_id"]

    async def work() -> None:
        if [a.lower() for a in args] == ["list"]:
            await respond(**await freezes.list_message(ctx))
            return
        answer = await freezes.declare(ctx, user, args)
        await respond(text=answer.text, response_type="ephemeral")

    after_ack(ctx, command_body(command), respond, work(), "freeze")


async def unfreeze_command(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                           args: list[str]) -> None:
    """`/change unfreeze FRZ-n` (tech leads)."""
    await ack()
    user = command["user_id"]

    async def work() -> None:
        answer = await freezes.lift(ctx, user, args)
        await respond(text=answer.text, response_type="ephemeral")

    after_ack(ctx, command_body(command), respond, work(), "unfreeze")
