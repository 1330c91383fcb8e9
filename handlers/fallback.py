"""Answers for what no other listener takes: a button, form or command the bot does not (or
no longer) know. Registered last; without them Bolt answers 404 and the person sees only
Slack's generic error.

Bolt also tries the next listener when one has not acknowledged within 3 seconds. Buttons
and commands acknowledge at once, so a catch-all behind them only ever sees what nobody
took. A form's submission is acknowledged after its work (to show errors under the
fields), so the catch-all for forms answers only a request that reached it at once: one a
slow listener held for 3 seconds is left to Bolt (Slack has given up on it by then), and a
slow form is never called out of date.
"""

import re
import time
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.context import Context
from bot.proposal.views import notice_modal
from bot.slack import payloads
from bot.slack.payloads import OUT_OF_DATE, Refused
from handlers.common import first_field, refuse_click

ANYTHING = re.compile(".*")
UNKNOWN_FORM = ("This form is out of date: nothing was changed. Close it and open it again "
                "with `/change new`, or from the change's card.")
ACK_TIMEOUT = 3.0  # seconds Bolt gives a listener to acknowledge before it tries the next
_ARRIVED = "changebot_arrived"


class _NoteArrival(AsyncMiddleware):
    """When the request reached Bolt (a class: Bolt works out a function middleware's
    arguments again at every request)."""

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        req.context[_ARRIVED] = time.monotonic()
        return await next()


async def _nobody_took_it(context: AsyncBoltContext) -> bool:
    """Reached at once: no listener before this one matched (one that did and did not
    acknowledge held the request for ACK_TIMEOUT)."""
    return time.monotonic() - context.get(_ARRIVED, 0.0) < ACK_TIMEOUT


def register(app: AsyncApp, ctx: Context) -> None:
    app.middleware(_NoteArrival())

    @app.view(ANYTHING, matchers=[_nobody_took_it])
    async def on_unknown_form(ack: AsyncAck, view: dict) -> None:
        field = first_field(view)
        if field:  # the person keeps what they typed, to copy into a new form
            await ack(response_action="errors", errors={field: UNKNOWN_FORM})
        else:
            await ack(response_action="update", view=notice_modal("Out of date", UNKNOWN_FORM))

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
