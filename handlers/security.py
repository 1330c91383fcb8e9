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
from handlers.common import answer_after_ack, change_button, ephemeral, telling
from handlers.review import decide_with_reason, open_when_allowed

REQUEST_CHANGES_CALLBACK = "security_request_changes"
OVERRIDE_USAGE = "`/change override-security CHG-12 why it is bypassed, for the record`"


def register(app: AsyncApp, ctx: Context) -> None:
    change_button(app, ctx, APPROVE, "approve security review",
                  telling(ctx, security_review.approve))

    async def ask_changes(who: Click, respond: AsyncRespond, change_id: int) -> None:
        allowed = await security_review.check_decider(ctx, change_id, who.user)
        await open_when_allowed(ctx, who, respond, allowed, lambda title, author: reason_modal(
            callback_id=REQUEST_CHANGES_CALLBACK, change_id=change_id,
            title="Request changes", submit="Send back",
            intro=f"*{format_change_id(change_id)}: {title}* goes back to "
            f"<@{author}>, who revises it for another security review.",
            label="What must change, and why?",
            hint="The author gets this in a direct message; it is kept on the record.",
        ))

    change_button(app, ctx, REQUEST_CHANGES, "open security changes modal", ask_changes)

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

    async def answer(user: str) -> dict:
        return ephemeral((await security_review.override(ctx, change_id, user, reason)).message)

    await answer_after_ack(ctx, ack, respond, command, answer, "override security review")
