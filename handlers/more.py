"""The card's overflow menu ("…"): each option routes to the handler of the action it names,
the same one its button used to call."""

from collections.abc import Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change.card_view import MORE_ACTION
from bot.context import Context
from bot.deployment import rollback
from bot.deployment import views as deployment_views
from bot.github.views import REFRESH_ACTION
from bot.slack import payloads
from bot.slack.payloads import Click, Refused
from handlers.common import after_ack, refuse_click, run_step
from handlers.pull_requests import refresh
from handlers.review import open_cancel, open_edit

Route = Callable[[Context, Click, AsyncRespond | None, int], Coroutine[Any, Any, None]]


async def _roll_back(ctx: Context, who: Click, respond: AsyncRespond | None,
                     change_id: int) -> None:
    await run_step(ctx, who, respond, change_id, rollback.rollback_form)


ROUTES: dict[str, Route] = {
    "change_edit": open_edit,
    "change_cancel": open_cancel,
    REFRESH_ACTION: refresh,
    deployment_views.ROLLBACK: _roll_back,
}


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(MORE_ACTION)
    async def on_more(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        """An option's value is `<change id>:<action_id>`; one we no longer know, or that
        does not parse, is answered "out of date" and changes nothing."""
        await ack()
        who = payloads.click(body)
        ref, _, action = (who.value or "").partition(":")
        try:
            route = ROUTES.get(action)
            if route is None:
                raise Refused(payloads.OUT_OF_DATE)
            change_id = payloads.button_ref(ref).change_id
        except Refused as refused:
            await refuse_click(ctx, who, respond, refused)
            return
        after_ack(ctx, who, respond, route(ctx, who, respond, change_id), f"more: {action}")
