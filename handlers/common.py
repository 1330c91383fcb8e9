"""What every Slack handler does the same way."""

import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change import actions as changes
from bot.context import Context
from bot.deployment.steps import StepOutcome
from bot.proposal.proposals import Invalid
from bot.slack.forms import read_values

log = logging.getLogger(__name__)

SORRY = "Something went wrong on our side and nothing was changed. Please try again."


def change_id_of(body: dict) -> int:
    """The change a button belongs to (its value) or a modal is about (private_metadata)."""
    if body.get("actions"):
        action = body["actions"][0]
        value = (action.get("selected_option") or {}).get("value") or action["value"]
        return int(value.split(":")[0])
    return int(json.loads(body["view"]["private_metadata"])["change_id"])


def revision_of(body: dict) -> int | None:
    """The revision a button was shown for (`<id>:r<revision>`), when it carries one."""
    _, _, revision = (body["actions"][0].get("value") or "").partition(":r")
    return int(revision) if revision.isdigit() else None


async def tell(ctx: Context, body: dict, respond: AsyncRespond | None, text: str) -> None:
    """An ephemeral answer to the person who clicked: only they see it."""
    user = body["user"]["id"]
    if respond is not None and body.get("response_url"):
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    if channel:
        await ctx.slack.chat_postEphemeral(channel=channel, user=user, text=text)
    else:
        await ctx.slack.chat_postMessage(channel=user, text=text)


def after_ack(ctx: Context, body: dict, respond: AsyncRespond | None,
              work: Coroutine[Any, Any, Any], name: str) -> None:
    """Run Web API work after Slack was answered; a failure is explained, never a trace."""

    async def guarded() -> None:
        try:
            await work
        except Exception:
            log.exception("%s failed", name)
            ctx.metrics.errors.labels(where=name).inc()
            try:
                await tell(ctx, body, respond, SORRY)
            except Exception:
                log.exception("could not tell the user that %s failed", name)

    ctx.background.spawn(guarded(), name=name)


Step = Callable[[Context, int, str], Awaitable[StepOutcome]]
Submit = Callable[..., Awaitable[StepOutcome]]


def step_button(app: AsyncApp, ctx: Context, action_id: str, step: Step, name: str) -> None:
    """A card (or DM) button: do the step, or open its modal; refusals are ephemeral."""

    @app.action(action_id)
    async def on_click(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        after_ack(ctx, body, respond, run_step(ctx, body, respond, step), name)


async def run_step(ctx: Context, body: dict, respond: AsyncRespond | None, step: Step) -> None:
    """A step asked for by a click (a button, or an option of the card's overflow menu)."""
    outcome = await step(ctx, change_id_of(body), body["user"]["id"])
    if outcome.view is not None:
        await ctx.slack.views_open(trigger_id=body["trigger_id"], view=outcome.view)
    else:
        await tell(ctx, body, respond, outcome.message)


def step_modal(app: AsyncApp, ctx: Context, callback_id: str, submit: Submit,
               fields: Callable[[dict[str, Any]], dict[str, Any]], default_field: str) -> None:
    """A modal's submission: recorded before the ack, so a refusal shows under its field."""

    @app.view(callback_id)
    async def on_submit(ack: AsyncAck, body: dict, view: dict) -> None:
        outcome = await submit(ctx, change_id_of(body), body["user"]["id"],
                               **fields(read_values(view)))
        if not outcome.ok:
            await ack(response_action="errors",
                      errors={outcome.field or default_field: outcome.message})
            return
        await ack()


async def submit_change_form(
    ctx: Context, ack, body: dict, view: dict, *,
    validate: Callable[[dict[str, Any], str], Any],
    create: Callable[..., Awaitable[Any]],
    first_field: str,
) -> None:
    """A change's form (proposal or emergency) submitted: answer errors under their fields,
    or record it — a revision when the form was opened from a card's Edit — then close it.
    Written before the answer, so that Slack's errors can still be shown in the modal."""
    user = body["user"]["id"]
    try:
        proposal = validate(read_values(view), user)
    except Invalid as invalid:
        await ack(response_action="errors", errors=invalid.errors)
        return
    change_id = json.loads(view.get("private_metadata") or "{}").get("change_id")
    if change_id:
        outcome = await changes.revise(ctx, int(change_id), user, proposal)
        if not outcome.ok:
            await ack(response_action="errors", errors={first_field: outcome.message})
            return
    else:
        await create(ctx, author=user, proposal=proposal, source_key=view["id"])
    await ack()
