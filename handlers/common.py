"""What every Slack handler does the same way: read the payload (through bot.slack.payloads),
answer the person, and explain a failure instead of leaving them with silence."""

import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.response import BoltResponse

from bot.change.work import Outcome
from bot.context import Context
from bot.deployment.steps import StepOutcome
from bot.proposal import submissions
from bot.proposal.proposals import Invalid
from bot.runtime.faults import database_unreachable
from bot.slack import payloads
from bot.slack.forms import FormErrors, read_values
from bot.slack.payloads import Click, Refused, Who

log = logging.getLogger(__name__)

SORRY = "Something went wrong on our side and nothing was changed. Please try again."
DATABASE_DOWN = ("Changebot cannot reach its database right now; nothing was changed. "
                 "Try again in a minute.")


def failure_text(error: BaseException) -> str:
    return DATABASE_DOWN if database_unreachable(error) else SORRY


async def tell(ctx: Context, who: Who, respond: AsyncRespond | None, text: str) -> None:
    """An ephemeral answer to the person who clicked or typed: only they see it."""
    text = payloads.clip(text, payloads.SECTION_TEXT_LIMIT)
    if respond is not None and who.response_url:
        await respond(text=text, response_type="ephemeral", replace_original=False)
    elif who.channel:
        await ctx.slack.chat_postEphemeral(channel=who.channel, user=who.user, text=text)
    else:
        await ctx.slack.chat_postMessage(channel=who.user, text=text)


def after_ack(ctx: Context, who: Who, respond: AsyncRespond | None,
              work: Coroutine[Any, Any, Any], name: str) -> None:
    """Run Web API work after Slack was answered; a failure is explained, never a trace."""
    ctx.background.spawn(_explained(ctx, who, respond, work, name), name=name)


def after_click(ctx: Context, body: dict, respond: AsyncRespond | None,
                work: Callable[[Click], Coroutine[Any, Any, Any]], name: str) -> None:
    """`after_ack` for a click, read after the answer too: nothing but the ack before it."""

    async def run() -> None:
        who = payloads.click(body)
        await _explained(ctx, who, respond, work(who), name)

    ctx.background.spawn(run(), name=name)


async def _explained(ctx: Context, who: Who, respond: AsyncRespond | None,
                     work: Coroutine[Any, Any, Any], name: str) -> None:
    try:
        await work
    except Refused as refused:  # the click or form asked what cannot be: said as it is
        await tell(ctx, who, respond, str(refused))
    except Exception as error:
        log.exception("%s failed", name)
        ctx.metrics.errors.labels(where=name).inc()
        try:
            await tell(ctx, who, respond, failure_text(error))
        except Exception:
            log.exception("could not tell the user that %s failed", name)


async def answer_after_ack(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                           answer: Callable[[str], Awaitable[dict]], what: str) -> None:
    """Acknowledge the command at once, then respond with what `answer(user)` says."""
    await ack()
    who = command_who(command)

    async def work() -> None:
        await respond(**await answer(who.user))

    after_ack(ctx, who, respond, work(), what)


def ephemeral(text: str) -> dict:
    """An answer only the person who typed the command sees."""
    return {"text": text, "response_type": "ephemeral"}


def answer_failure(ctx: Context, body: dict, error: BaseException) -> BoltResponse:
    """The answer to a request whose listener failed before acknowledging it: the person is
    told (in the command's answer, under the modal's first field, or ephemerally)."""
    text = failure_text(error)
    if isinstance(body.get("command"), str):
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
    if body.get("type") == "view_submission":
        field = first_field(body.get("view"))
        if field:
            return BoltResponse(status=200, body={"response_action": "errors",
                                                  "errors": {field: text}})
    try:
        who = payloads.click(body)
    except ValueError:
        return BoltResponse(status=200, body="")
    after_ack(ctx, who, None, tell(ctx, who, None, text), "explain a failure")
    return BoltResponse(status=200, body="")


def first_field(view: Any) -> str | None:
    """The block id of the view's first input, under which an error can be shown."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    return next(iter(values), None) if isinstance(values, dict) and values else None


async def refuse_click(ctx: Context, who: Who, respond: AsyncRespond | None,
                       refused: Refused) -> None:
    after_ack(ctx, who, respond, tell(ctx, who, respond, str(refused)), "refuse a click")


Step = Callable[[Context, int, str], Awaitable[StepOutcome]]
Submit = Callable[..., Awaitable[StepOutcome]]
ClickWork = Callable[[Click, int], Coroutine[Any, Any, Any]]
ButtonWork = Callable[[Click, AsyncRespond, int], Awaitable[None]]


def on_change_click(ctx: Context, body: dict, respond: AsyncRespond | None,
                    work: ClickWork, name: str) -> None:
    """After the ack: read the clicked button's change, then run `work` in the background;
    a button whose value does not parse is answered "out of date"."""

    async def run(who: Click) -> None:
        await work(who, payloads.button_ref(who.value).change_id)

    after_click(ctx, body, respond, run, name)


def change_button(app: AsyncApp, ctx: Context, action_id: str, name: str,
                  work: ButtonWork) -> None:
    """A button about one change: acknowledged at once, then `work(who, respond, change_id)`
    runs in the background."""

    @app.action(action_id)
    async def on_click(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def run(who: Click, change_id: int) -> None:
            await work(who, respond, change_id)

        on_change_click(ctx, body, respond, run, name)


def step_button(app: AsyncApp, ctx: Context, action_id: str, step: Step, name: str) -> None:
    """A card (or DM) button: do the step, or open its modal; refusals are ephemeral."""

    async def work(who: Click, respond: AsyncRespond, change_id: int) -> None:
        await run_step(ctx, who, respond, change_id, step)

    change_button(app, ctx, action_id, name, work)


def telling(ctx: Context, act: Callable[[Context, int, str], Awaitable[Outcome]]) -> ButtonWork:
    """A button that does `act` for the clicker and tells them what came of it."""

    async def work(who: Click, respond: AsyncRespond, change_id: int) -> None:
        outcome = await act(ctx, change_id, who.user)
        await tell(ctx, who, respond, outcome.message)

    return work


async def run_step(ctx: Context, who: Click, respond: AsyncRespond | None, change_id: int,
                   step: Step) -> None:
    """A step asked for by a click (a button, or an option of the card's overflow menu):
    done, or its modal opened; a refusal is answered."""
    outcome = await step(ctx, change_id, who.user)
    if outcome.view is not None:
        await ctx.slack.views_open(trigger_id=who.trigger_id, view=outcome.view)
    else:
        await tell(ctx, who, respond, outcome.message)


async def read_modal(ack: AsyncAck, view: dict, default_field: str,
                     fields: Mapping[str, type]) -> tuple[int | None, dict[str, Any]] | None:
    """The change a submitted modal is about and its values; None once the errors were
    answered (an out-of-date form, an unreadable or unstorable field)."""
    try:
        change_id = payloads.modal_change_id(view)
        values = read_values(view, fields)
    except Refused as refused:
        await ack(response_action="errors", errors={default_field: str(refused)})
        return None
    except FormErrors as invalid:
        await ack(response_action="errors", errors=invalid.errors)
        return None
    return change_id, values


def step_modal(app: AsyncApp, ctx: Context, callback_id: str, submit: Submit,
               fields: Callable[[dict[str, Any]], dict[str, Any]], default_field: str,
               inputs: Mapping[str, type]) -> None:
    """A modal's submission: recorded before the ack, so a refusal shows under its field.
    `inputs`: the modal's fields and the type of their values (see `read_values`)."""

    @app.view(callback_id)
    async def on_submit(ack: AsyncAck, body: dict, view: dict) -> None:
        read = await read_modal(ack, view, default_field, inputs)
        if read is None:
            return
        change_id, values = read
        if change_id is None:
            await ack(response_action="errors",
                      errors={default_field: payloads.FORM_OUT_OF_DATE})
            return
        outcome = await submit(ctx, change_id, payloads.click(body).user, **fields(values))
        if not outcome.ok:
            await ack(response_action="errors",
                      errors={outcome.field or default_field: outcome.message})
            return
        await ack()


async def submit_change_form(
    ctx: Context, ack, body: dict, view: dict, *,
    validate: Callable[[dict[str, Any], str], Any],
    first_field: str,
    fields: Mapping[str, type],
    check: Callable[[Any, int | None], Awaitable[None]] | None = None,
) -> None:
    """A change's form (proposal or emergency) submitted: errors answered under their
    fields, else the submission kept and the modal closed; the change is recorded (a
    revision when the form was opened from a card's Edit) after the answer, see
    bot.proposal.submissions. `fields`: every input of the form and its type, so that a
    block missing from the payload is "required" and a value of another type an error, not
    a crash. `check`: what needs the database and is still shown under its field (one read)."""
    who = payloads.click(body)
    read = await read_modal(ack, view, first_field, fields)
    if read is None:
        return
    change_id, values = read
    try:
        proposal = validate(values, who.user)
        if check is not None:
            await check(proposal, change_id or None)
    except Invalid as invalid:
        await ack(response_action="errors", errors=invalid.errors)
        return
    if not who.view_id:  # it keys the submission against Slack's retries: none, nothing kept
        await ack(response_action="errors", errors={first_field: payloads.FORM_OUT_OF_DATE})
        return
    key = await submissions.keep(ctx, author=who.user, source=who.view_id,
                                 change_id=change_id or None, proposal=proposal)
    await ack()
    ctx.background.spawn(ctx.sweeper.run_now(key), name="record a change's form")


def command_who(command: dict) -> Who:
    """Who typed a slash command, and where to answer them."""
    parsed = payloads.command(command)
    return Who(user=parsed.user_id, response_url=parsed.response_url,
               channel=parsed.channel_id, trigger_id=parsed.trigger_id)
