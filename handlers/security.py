"""Step 4 in Slack: the security team's buttons and modal, and the audited override."""

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change.states import format_change_id, parse_change_id
from bot.context import Context
from bot.proposal.views import reason_modal
from bot.security import review as security_review
from bot.security.views import APPROVE, REQUEST_CHANGES
from bot.slack.forms import read_values
from handlers.common import after_ack, change_id_of, tell
from handlers.review import command_body

REQUEST_CHANGES_CALLBACK = "security_request_changes"
OVERRIDE_USAGE = "`/change override-security CHG-12 why it is bypassed, for the record`"


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(APPROVE)
    async def on_approve(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work() -> None:
            outcome = await security_review.approve(ctx, change_id_of(body), body["user"]["id"])
            await tell(ctx, body, respond, outcome.message)

        after_ack(ctx, body, respond, work(), "approve security review")

    @app.action(REQUEST_CHANGES)
    async def on_request_changes(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        change_id = change_id_of(body)

        async def work() -> None:
            allowed = await security_review.check_decider(ctx, change_id, body["user"]["id"])
            if not allowed.ok or allowed.change is None:
                await tell(ctx, body, respond, allowed.message)
                return
            cid = format_change_id(change_id)
            await ctx.slack.views_open(trigger_id=body["trigger_id"], view=reason_modal(
                callback_id=REQUEST_CHANGES_CALLBACK, change_id=change_id,
                title="Request changes", submit="Send back",
                intro=f"*{cid}: {allowed.change.title}* goes back to "
                f"<@{allowed.change.author_id}>, who revises it for another security review.",
                label="What must change, and why?",
                hint="The author gets this in a direct message; it is kept on the record.",
            ))

        after_ack(ctx, body, respond, work(), "open security changes modal")

    @app.view(REQUEST_CHANGES_CALLBACK)
    async def on_request_changes_reason(ack: AsyncAck, body: dict, view: dict) -> None:
        reason = read_values(view).get("reason") or ""
        if not reason:
            await ack(response_action="errors", errors={"reason": "A reason is required."})
            return
        outcome = await security_review.request_changes(
            ctx, change_id_of(body), body["user"]["id"], reason
        )
        if not outcome.ok:
            await ack(response_action="errors", errors={"reason": outcome.message})
            return
        await ack()


async def override_security(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                            _args) -> None:
    """`/change override-security CHG-n <reason>`: tech leads only, on the record."""
    _name, change_ref, reason = (command.get("text", "").split(None, 2) + ["", ""])[:3]
    try:
        change_id = parse_change_id(change_ref)
    except ValueError as exc:
        problem = f"{exc}." if change_ref else "Which change?"
        await ack(text=f"{problem} Write {OVERRIDE_USAGE}.", response_type="ephemeral")
        return
    if not reason.strip():
        await ack(text=f"Say why the security review is bypassed: {OVERRIDE_USAGE}. The "
                  "reason is kept on the record.", response_type="ephemeral")
        return
    await ack()

    async def work() -> None:
        outcome = await security_review.override(ctx, change_id, command["user_id"], reason)
        await respond(text=outcome.message, response_type="ephemeral")

    after_ack(ctx, command_body(command), respond, work(), "override security review")
