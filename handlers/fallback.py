"""Answers for what no other listener takes: a button, form or command the bot does not (or
no longer) know. Registered last; without them Bolt answers 404 and the person sees only
Slack's generic error."""

import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.context import Context
from bot.slack import payloads
from bot.slack.payloads import FORM_OUT_OF_DATE, OUT_OF_DATE, Refused
from handlers.common import refuse_click

ANYTHING = re.compile(".*")


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(ANYTHING)
    async def on_unknown_button(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        await refuse_click(ctx, payloads.click(body), respond, Refused(OUT_OF_DATE))

    @app.view(ANYTHING)
    async def on_unknown_form(ack: AsyncAck, view: dict) -> None:
        state = view.get("state") if isinstance(view, dict) else None
        fields = list((state or {}).get("values") or {}) if isinstance(state, dict) else []
        if fields and isinstance(fields[0], str):
            await ack(response_action="errors", errors={fields[0]: FORM_OUT_OF_DATE})
        else:
            await ack()

    @app.view_closed(ANYTHING)
    async def on_closed(ack: AsyncAck) -> None:
        await ack()

    @app.command(ANYTHING)
    async def on_unknown_command(ack: AsyncAck, command: dict) -> None:
        name = payloads.clip(payloads.command(command).command, 40)
        await ack(text=f"I don't know the command `{name}`: try `/change help`.",
                  response_type="ephemeral")
