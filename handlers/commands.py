"""`/change …`: parse the text, call the core, answer the person (ephemeral)."""

import functools
import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.context import Context
from bot.overview import queries
from bot.overview.help import help_message
from bot.overview.summary import LIST_PAGE_BUTTON, list_message, show_message
from bot.slack import payloads
from bot.slack.payloads import Click, Refused
from handlers.common import after_ack, after_click, answer_after_ack, command_who, tell
from handlers.emergency import list_overdue, open_emergency
from handlers.evidence import evidence_command
from handlers.freeze import calendar_command, freeze_command, unfreeze_command
from handlers.insights import metrics_command
from handlers.pull_requests import github_command, link_command
from handlers.review import open_proposal
from handlers.security import override_security

# What `/change <unknown>` echoes back in its help, at most (a section holds 3,000).
ECHO_LIMIT = 200


def register(app: AsyncApp, ctx: Context) -> None:
    @app.command("/change")
    async def change_command(ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        text = payloads.command(command).text
        try:
            payloads.clean_text(text, "Your command")
        except Refused as refused:
            await ack(text=str(refused), response_type="ephemeral")
            return
        words = text.split()
        name = words[0].lower() if words else "help"
        handler = SUBCOMMANDS.get(name)
        if handler is None:
            if name == "help":
                await ack(**plain_help())
                return
            await ack(**help_message(unknown=payloads.clip(" ".join(words), ECHO_LIMIT)))
            return
        await handler(ctx, ack, respond, command, words[1:])

    @app.action(re.compile(f"^{LIST_PAGE_BUTTON}_"))
    async def on_list_page(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        """Previous / Next under `/change list`: that page in place of the one shown."""
        await ack()

        async def work(who: Click) -> None:
            page = payloads.page_number(who.value)
            listed = await queries.open_changes(ctx, who.user, page)
            await respond(**list_message(listed, who.user), replace_original=True)

        after_click(ctx, body, respond, work, "change list page")


@functools.cache
def plain_help() -> dict:
    """`/change help`: the same answer for everyone, so built (and checked) once."""
    return help_message()


async def _list(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict, args) -> None:
    what = " ".join(args).lower()
    if what == "overdue":
        await list_overdue(ctx, ack, respond, command)
        return
    if what:
        shown = payloads.clip(" ".join(args), ECHO_LIMIT)
        await ack(text=f"I don't know `/change list {shown}`. Try `/change list` "
                  "(open changes) or `/change list overdue` (overdue retrospectives).",
                  response_type="ephemeral")
        return

    async def answer(user: str) -> dict:
        return list_message(await queries.open_changes(ctx, user), user)

    await answer_after_ack(ctx, ack, respond, command, answer, "change list")


async def _show(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict, args) -> None:
    try:
        change_id = payloads.change_ref(args[0] if args else "")
    except Refused as exc:
        await ack(text=f"{exc} Try `/change show CHG-12`.", response_type="ephemeral")
        return
    await ack()
    who = command_who(command)

    async def work() -> None:
        found = await queries.change_with_history(ctx, change_id)
        if found is None:
            await tell(ctx, who, respond, f"There is no CHG-{change_id}.")
            return
        await respond(**show_message(found))

    after_ack(ctx, who, respond, work(), "change show")


SUBCOMMANDS = {
    "new": open_proposal,
    "list": _list,
    "show": _show,
    "emergency": open_emergency,
    "override-security": override_security,
    "link": link_command,
    "github": github_command,
    "evidence": evidence_command,
    "freeze": freeze_command,
    "unfreeze": unfreeze_command,
    "calendar": calendar_command,
    "metrics": metrics_command,
}
