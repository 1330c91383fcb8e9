"""Steps 1 and 3 in Slack: the proposal modal, and the review buttons on the card."""


from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change import actions as changes
from bot.change.states import Category, format_change_id
from bot.context import Context
from bot.emergency.views import emergency_modal
from bot.proposal.proposals import validate_proposal
from bot.proposal.views import (
    CANCEL_CALLBACK,
    PROPOSAL_CALLBACK,
    cancel_modal,
    notice_modal,
    proposal_modal,
    reason_modal,
)
from bot.review.rules import may_cancel, may_reject, may_revise
from bot.slack.forms import read_values
from handlers.common import (
    after_ack,
    change_id_of,
    revision_of,
    submit_change_form,
    tell,
)

REJECT_CALLBACK = "change_reject"


async def open_proposal(ctx: Context, ack: AsyncAck, respond, command: dict, _args) -> None:
    """`/change new`: answer at once, then open the modal inside the trigger's 3 seconds."""
    await ack()

    async def work() -> None:
        await ctx.slack.views_open(trigger_id=command["trigger_id"], view=proposal_modal())

    after_ack(ctx, command_body(command), respond, work(), "open proposal modal")


def command_body(command: dict) -> dict:
    return {"user": {"id": command["user_id"]}, "response_url": command.get("response_url"),
            "channel": {"id": command.get("channel_id")}}


def register(app: AsyncApp, ctx: Context) -> None:
    @app.view(PROPOSAL_CALLBACK)
    async def on_proposal(ack: AsyncAck, body: dict, view: dict) -> None:
        await submit_change_form(
            ctx, ack, body, view, first_field="title", create=changes.propose,
            validate=lambda values, user: validate_proposal(values, author=user,
                                                            now=ctx.clock.now()),
        )

    @app.action("change_approve")
    async def on_approve(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work() -> None:
            outcome = await changes.approve(ctx, change_id_of(body), body["user"]["id"],
                                            seen_revision=revision_of(body))
            await tell(ctx, body, respond, outcome.message)

        after_ack(ctx, body, respond, work(), "approve")

    @app.action("change_reject")
    async def on_reject(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        change_id = change_id_of(body)

        async def work() -> None:
            allowed = await changes.check(ctx, change_id, body["user"]["id"], may_reject)
            if not allowed.ok:
                await tell(ctx, body, respond, allowed.message)
                return
            await ctx.slack.views_open(trigger_id=body["trigger_id"], view=reason_modal(
                callback_id=REJECT_CALLBACK, change_id=change_id,
                title=f"Reject {format_change_id(change_id)}", label="Why are you rejecting it?",
                hint="The author gets this in a direct message: say what would make it "
                "acceptable.", submit="Reject",
            ))

        after_ack(ctx, body, respond, work(), "open reject modal")

    @app.view(REJECT_CALLBACK)
    async def on_reject_reason(ack: AsyncAck, body: dict, view: dict) -> None:
        reason = read_values(view).get("reason") or ""
        if not reason:
            await ack(response_action="errors", errors={"reason": "A reason is required."})
            return
        outcome = await changes.reject(ctx, change_id_of(body), body["user"]["id"], reason)
        if not outcome.ok:
            await ack(response_action="errors", errors={"reason": outcome.message})
            return
        await ack()

    @app.action("change_edit")
    async def on_edit(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        after_ack(ctx, body, respond, open_edit(ctx, body, respond), "open edit modal")

    @app.action("change_cancel")
    async def on_cancel(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        """The button of cards posted before the overflow menu (its confirm was Slack's)."""
        await ack()

        async def work() -> None:
            outcome = await changes.cancel(ctx, change_id_of(body), body["user"]["id"])
            await tell(ctx, body, respond, outcome.message)

        after_ack(ctx, body, respond, work(), "cancel")

    @app.view(CANCEL_CALLBACK)
    async def on_cancel_confirmed(ack: AsyncAck, body: dict) -> None:
        outcome = await changes.cancel(ctx, change_id_of(body), body["user"]["id"])
        if not outcome.ok:
            await ack(response_action="update", view=notice_modal(
                f"Cancel {format_change_id(change_id_of(body))}", outcome.message))
            return
        await ack()


async def open_edit(ctx: Context, body: dict, respond: AsyncRespond | None) -> None:
    """Edit (or Revise): the change's own form, pre-filled; the author only."""
    change_id = change_id_of(body)
    allowed = await changes.check(ctx, change_id, body["user"]["id"], may_revise)
    if not allowed.ok or allowed.change is None:
        await tell(ctx, body, respond, allowed.message)
        return
    change = allowed.change
    if change.category == Category.emergency:  # its own form, so it stays one
        modal = emergency_modal(ctx.policy, changes.proposal_of(change), change_id=change_id)
    else:
        modal = proposal_modal(changes.proposal_of(change), change_id=change_id)
    await ctx.slack.views_open(trigger_id=body["trigger_id"], view=modal)


async def open_cancel(ctx: Context, body: dict, respond: AsyncRespond | None) -> None:
    """Cancel change… from the overflow menu: asked again in a modal, since it is final."""
    change_id = change_id_of(body)
    allowed = await changes.check(ctx, change_id, body["user"]["id"], may_cancel)
    if not allowed.ok or allowed.change is None:
        await tell(ctx, body, respond, allowed.message)
        return
    await ctx.slack.views_open(trigger_id=body["trigger_id"],
                               view=cancel_modal(change_id, allowed.change.title))
