"""Answers for what no other listener takes: a button or command the bot does not (or no
longer) know. Registered last; without them Bolt answers 404 and the person sees only
Slack's generic error.

Bolt also tries the next listener when one has not acknowledged within 3 seconds, so only
listeners that acknowledge at once may have a catch-all behind them: buttons and commands
do. A form's submission is acknowledged after its work (to show errors under the fields),
so an unknown form is left to Bolt's 404 rather than risk calling a slow one out of date."""

import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.context import Context
from bot.slack import payloads
from bot.slack.payloads import OUT_OF_DATE, Refused
from handlers.common import refuse_click

ANYTHING = re.compile(".*")


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(ANYTHING)
    async def on_unknown_button(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        await refuse_click(ctx, payloads.click(body), respond, Refused(OUT_OF_DATE))

    @app.view_closed(ANYTHING)
    async def on_closed(ack: AsyncAck) -> None:
        await ack()

    @app.command(ANYTHING)
    async def on_unknown_command(ack: AsyncAck, command: dict) -> None:
        name = payloads.clip(payloads.command(command).command, 40)
        await ack(text=f"I don't know the command `{name}`: try `/change help`.",
                  response_type="ephemeral")
