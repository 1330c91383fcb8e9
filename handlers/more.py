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
from handlers.common import after_ack, run_step, tell
from handlers.pull_requests import refresh
from handlers.review import open_cancel, open_edit

Route = Callable[[Context, dict, AsyncRespond | None], Coroutine[Any, Any, None]]


async def _roll_back(ctx: Context, body: dict, respond: AsyncRespond | None) -> None:
    await run_step(ctx, body, respond, rollback.rollback_form)


ROUTES: dict[str, Route] = {
    "change_edit": open_edit,
    "change_cancel": open_cancel,
    REFRESH_ACTION: refresh,
    deployment_views.ROLLBACK: _roll_back,
}


def chosen(body: dict) -> str:
    """The action an option stands for: its value is `<change id>:<action_id>`."""
    option = body["actions"][0].get("selected_option") or {}
    _, _, action = str(option.get("value") or "").partition(":")
    return action


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(MORE_ACTION)
    async def on_more(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        route = ROUTES.get(chosen(body))
        if route is None:
            after_ack(ctx, body, respond, tell(ctx, body, respond, "I don't know that action "
                                               "any more: nothing was changed."), "more")
            return
        after_ack(ctx, body, respond, route(ctx, body, respond), f"more: {chosen(body)}")
