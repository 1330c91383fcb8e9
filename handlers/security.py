"""Step 4 in Slack: the security team's buttons and modal, and the audited override."""

from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change.states import format_change_id
from bot.context import Context
from bot.proposal.views import reason_modal
from bot.security import review as security_review
from bot.security.views import APPROVE, REQUEST_CHANGES
from bot.slack import payloads
from bot.slack.payloads import Click, Refused
from handlers.common import after_ack, command_who, on_change_click, tell
from handlers.review import ask_reason, decide_with_reason

REQUEST_CHANGES_CALLBACK = "security_request_changes"
OVERRIDE_USAGE = "`/change override-security CHG-12 why it is bypassed, for the record`"


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(APPROVE)
    async def on_approve(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work(who: Click, change_id: int) -> None:
            outcome = await security_review.approve(ctx, change_id, who.user)
            await tell(ctx, who, respond, outcome.message)

        await on_change_click(ctx, body, respond, work, "approve security review")

    @app.action(REQUEST_CHANGES)
    async def on_request_changes(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work(who: Click, change_id: int) -> None:
            allowed = await security_review.check_decider(ctx, change_id, who.user)
            await ask_reason(ctx, who, respond, allowed, lambda change: reason_modal(
                callback_id=REQUEST_CHANGES_CALLBACK, change_id=change_id,
                title="Request changes", submit="Send back",
                intro=f"*{format_change_id(change_id)}: {change.title}* goes back to "
                f"<@{change.author_id}>, who revises it for another security review.",
                label="What must change, and why?",
                hint="The author gets this in a direct message; it is kept on the record.",
            ))

        await on_change_click(ctx, body, respond, work, "open security changes modal")

    @app.view(REQUEST_CHANGES_CALLBACK)
    async def on_request_changes_reason(ack: AsyncAck, body: dict, view: dict) -> None:
        await decide_with_reason(ack, body, view, partial(security_review.request_changes, ctx))


async def override_security(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                            _args) -> None:
    """`/change override-security CHG-n <reason>`: tech leads only, on the record."""
    _name, change_ref, reason = (payloads.command(command).text.split(None, 2) + ["", ""])[:3]
    try:
        change_id = payloads.change_ref(change_ref)
    except Refused as exc:
        await ack(text=f"{exc} Write {OVERRIDE_USAGE}.", response_type="ephemeral")
        return
    if not reason.strip():
        await ack(text=f"Say why the security review is bypassed: {OVERRIDE_USAGE}. The "
                  "reason is kept on the record.", response_type="ephemeral")
        return
    await ack()
    who = command_who(command)

    async def work() -> None:
        outcome = await security_review.override(ctx, change_id, who.user, reason)
        await respond(text=outcome.message, response_type="ephemeral")

    after_ack(ctx, who, respond, work(), "override security review")
