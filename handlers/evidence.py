"""`/change evidence <from> <to> [md|csv|json]`: the evidence pack of a period, as a file
in the asker's DM."""

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.context import Context
from bot.evidence import delivery as evidence_delivery
from bot.evidence.export import FORMATS
from bot.evidence.period import parse_period
from handlers.common import after_ack, command_who

USAGE = ("Give the period as its first and last day, e.g. "
         "`/change evidence 2026-01-01 2026-03-31` (add `csv` or `json` for another format).")


async def evidence_command(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                           args: list[str]) -> None:
    fmt = args[2].lower() if len(args) == 3 else "md"
    if len(args) not in (2, 3) or fmt not in FORMATS:
        await ack(text=USAGE, response_type="ephemeral")
        return
    try:
        period = parse_period(args[0], args[1], ctx.policy.business_hours.zone)
    except ValueError as exc:
        await ack(text=f"{str(exc).capitalize()}. {USAGE}", response_type="ephemeral")
        return
    await ack()
    who = command_who(command)
    user = who.user

    async def work() -> None:
        allowed = await evidence_delivery.may_export(ctx, user)
        if not allowed.ok:
            await respond(text=allowed.message, response_type="ephemeral")
            return
        await respond(text=f"Building the evidence pack for {period.label}: it will arrive "
                      "in your direct messages with me.", response_type="ephemeral")
        await evidence_delivery.deliver(ctx, user, period, fmt)

    after_ack(ctx, who, respond, work(), "evidence pack")
