"""`/change metrics [30d|90d]`: DORA's metrics as an ephemeral summary, the chart in a DM."""

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.context import Context
from bot.insights import delivery
from bot.insights.views import metrics_message
from bot.slack import payloads
from handlers.common import after_ack, command_who

USAGE = ("Give the period as `30d` or `90d`, e.g. `/change metrics 90d` "
         "(`/change metrics` alone: the last 30 days).")


async def metrics_command(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                          args: list[str]) -> None:
    word = args[0].lower() if args else "30d"
    if len(args) > 1 or word not in delivery.PERIODS:
        shown = payloads.clip(" ".join(args), 200)
        await ack(text=f"I don't know `/change metrics {shown}`. {USAGE}",
                  response_type="ephemeral")
        return
    await ack()
    who = command_who(command)
    days, user = delivery.PERIODS[word], who.user

    async def work() -> None:
        span = delivery.last_days(ctx, days)
        report, history = await delivery.figures(ctx, span)
        await respond(**metrics_message(report, days))
        await delivery.upload_chart(ctx, user, history, span, days)

    after_ack(ctx, who, respond, work(), "change metrics")
