"""Steps 1 and 3 in Slack: the proposal modal, and the review buttons on the card."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.models.views import View

from bot.change import actions as changes
from bot.change.states import Category, format_change_id
from bot.change.work import Outcome
from bot.context import Context
from bot.emergency.views import emergency_modal
from bot.proposal import planned_time
from bot.proposal.proposals import validate_proposal
from bot.proposal.views import (
    CANCEL_CALLBACK,
    PLANNED_AT,
    PROPOSAL_CALLBACK,
    cancel_modal,
    notice_modal,
    proposal_modal,
    reason_modal,
)
from bot.review import standard
from bot.review.rules import may_cancel, may_reject, may_revise
from bot.schedule.planned import form_warnings
from bot.slack import payloads
from bot.slack.payloads import Click, Refused
from handlers.common import (
    after_ack,
    after_click,
    change_button,
    command_who,
    read_modal,
    submit_change_form,
    tell,
    telling,
)

REJECT_CALLBACK = "change_reject"
REASON_LIMIT = 3000
BLANK_FORM = "blank proposal form"  # its key in ctx.cache


async def open_proposal(ctx: Context, ack: AsyncAck, respond, command: dict, args) -> None:
    """`/change new`: answer at once, then open the modal inside the trigger's 3 seconds.
    `/change new <template>` opens it prefilled by a standard-change template; the plain
    one lists the templates, when the policy has some."""
    templates = ctx.policy.proposal.templates
    initial = None
    if args:
        template = ctx.policy.proposal.template("-".join(args))
        if template is None:
            known = standard.templates_text(ctx.policy) or "(the policy defines none)"
            await ack(text=f"There is no standard-change template `{' '.join(args)}`. "
                      f"The templates:\n{known}", response_type="ephemeral")
            return
        initial = standard.template_proposal(template)
        await ack()
    elif templates:
        await ack(text="Standard changes (pre-approved patterns) have a template:\n"
                  + standard.templates_text(ctx.policy), response_type="ephemeral")
    else:
        await ack()
    who = command_who(command)

    async def work() -> None:
        modal = blank_proposal_form(ctx) if initial is None else proposal_modal(ctx.policy,
                                                                                initial)
        await ctx.slack.views_open(trigger_id=who.trigger_id, view=modal)

    after_ack(ctx, who, respond, work(), "open proposal modal")


def blank_proposal_form(ctx: Context) -> dict:
    """The `/change new` form, empty: the same for everyone under the process's policy, so
    built (and checked) once."""
    if BLANK_FORM not in ctx.cache:
        ctx.cache[BLANK_FORM] = proposal_modal(ctx.policy).to_dict()
    return ctx.cache[BLANK_FORM]


# Every input of the proposal form and the type of its value (see `read_values`).
PROPOSAL_FIELDS = {"title": str, "description": str, "category": str, "risk": str,
                   "rollback_plan": str, "testing": str, "security_notes": str,
                   "security_checkboxes": list, "pr_url": str, "reviewers": list,
                   "planned_at": datetime, "service": str}


def register(app: AsyncApp, ctx: Context) -> None:
    @app.view(PROPOSAL_CALLBACK)
    async def on_proposal(ack: AsyncAck, body: dict, view: dict) -> None:
        await submit_change_form(
            ctx, ack, body, view, first_field="title",
            fields=PROPOSAL_FIELDS,
            validate=lambda values, user: validate_proposal(
                values, author=user, now=ctx.clock.now(), rules=ctx.policy.proposal),
        )

    @app.action(PLANNED_AT)
    async def on_planned_time(ack: AsyncAck, body: dict) -> None:
        """A planned time chosen in the open form: a warning under it when a deploy would be
        refused then."""
        await ack()
        try:
            choice = payloads.choice(body)
        except Refused:
            return  # not from an open form: nothing to warn in
        after_ack(ctx, choice.who, None, planned_time.warn(ctx, choice), "planned time warning")

    @app.action("change_approve")
    async def on_approve(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work(who: Click) -> None:
            button = payloads.button_ref(who.value)
            outcome = await changes.approve(ctx, button.change_id, who.user,
                                            seen_revision=button.revision)
            await tell(ctx, who, respond, outcome.message)

        after_click(ctx, body, respond, work, "approve")

    async def ask_why(who: Click, respond: AsyncRespond, change_id: int) -> None:
        allowed = await changes.check(ctx, change_id, who.user, may_reject)
        await open_when_allowed(ctx, who, respond, allowed, lambda _title, _author: reason_modal(
            callback_id=REJECT_CALLBACK, change_id=change_id,
            title=f"Reject {format_change_id(change_id)}", label="Why are you rejecting it?",
            hint="The author gets this in a direct message: say what would make it "
            "acceptable.", submit="Reject",
        ))

    change_button(app, ctx, "change_reject", "open reject modal", ask_why)

    @app.view(REJECT_CALLBACK)
    async def on_reject_reason(ack: AsyncAck, body: dict, view: dict) -> None:
        await decide_with_reason(ack, body, view, partial(changes.reject, ctx))

    change_button(app, ctx, "change_edit", "open edit modal", partial(open_edit, ctx))
    # The button of cards posted before the overflow menu (its confirm was Slack's).
    change_button(app, ctx, "change_cancel", "cancel", telling(ctx, changes.cancel))

    @app.view(CANCEL_CALLBACK)
    async def on_cancel_confirmed(ack: AsyncAck, body: dict, view: dict) -> None:
        try:
            change_id = payloads.modal_change_id(view)
        except Refused as refused:
            await ack(response_action="update", view=notice_modal("Cancel", str(refused)))
            return
        if change_id is None:
            await ack(response_action="update",
                      view=notice_modal("Cancel", payloads.FORM_OUT_OF_DATE))
            return
        outcome = await changes.cancel(ctx, change_id, payloads.click(body).user)
        if not outcome.ok:
            await ack(response_action="update", view=notice_modal(
                f"Cancel {format_change_id(change_id)}", outcome.message))
            return
        await ack()


async def open_edit(ctx: Context, who: Click, respond: AsyncRespond | None,
                    change_id: int) -> None:
    """Edit (or Revise): the change's own form, pre-filled; the author only."""
    allowed = await changes.check(ctx, change_id, who.user, may_revise)
    if not allowed.ok or allowed.change is None:
        await tell(ctx, who, respond, allowed.message)
        return
    change = allowed.change
    if change.category == Category.emergency:  # its own form, so it stays one
        modal = emergency_modal(ctx.policy, changes.proposal_of(change), change_id=change_id)
    else:
        modal = proposal_modal(ctx.policy, changes.proposal_of(change), change_id=change_id,
                               warnings=await form_warnings(ctx, change.planned_at))
    await ctx.slack.views_open(trigger_id=who.trigger_id, view=modal)


async def open_cancel(ctx: Context, who: Click, respond: AsyncRespond | None,
                      change_id: int) -> None:
    """Cancel change… from the overflow menu: asked again in a modal, since it is final."""
    allowed = await changes.check(ctx, change_id, who.user, may_cancel)
    await open_when_allowed(ctx, who, respond, allowed,
                            lambda title, _author: cancel_modal(change_id, title))


async def open_when_allowed(ctx: Context, who: Click, respond: AsyncRespond | None,
                            allowed: Outcome, modal: Callable[[str, str], View]) -> None:
    """Open `modal(title, author)` of the change `allowed` lets the clicker act on; else tell
    them why not."""
    if not allowed.ok or allowed.change is None:
        await tell(ctx, who, respond, allowed.message)
        return
    change = allowed.change
    await ctx.slack.views_open(trigger_id=who.trigger_id,
                               view=modal(change.title, change.author_id))


async def decide_with_reason(ack: AsyncAck, body: dict, view: dict,
                             decide: Callable[[int, str, str], Awaitable[Outcome]]) -> None:
    """A reason modal submitted: the reason read, then `decide(change_id, user, reason)`; a
    refusal is shown on the form, which stays open."""
    read = await read_reason(ack, view)
    if read is None:
        return
    change_id, reason = read
    outcome = await decide(change_id, payloads.click(body).user, reason)
    if not outcome.ok:
        await ack(response_action="errors", errors={"reason": outcome.message})
        return
    await ack()


async def read_reason(ack: AsyncAck, view: dict) -> tuple[int, str] | None:
    """A reason modal's change and reason; None once its errors were answered."""
    read = await read_modal(ack, view, "reason", {"reason": str})
    if read is None:
        return None
    change_id, values = read
    if change_id is None:
        await ack(response_action="errors", errors={"reason": payloads.FORM_OUT_OF_DATE})
        return None
    reason = values["reason"] or ""
    if not reason:
        await ack(response_action="errors", errors={"reason": "A reason is required."})
        return None
    if len(reason) > REASON_LIMIT:
        await ack(response_action="errors", errors={
            "reason": f"Keep this under {REASON_LIMIT} characters (it has {len(reason)})."})
        return None
    return change_id, reason
