"""`/change …`: parse the text, call the core, answer the person (ephemeral)."""

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.change.states import parse_change_id
from bot.context import Context
from bot.overview import queries
from bot.overview.help import help_message
from bot.overview.summary import list_message, show_message
from handlers.emergency import list_overdue, open_emergency
from handlers.evidence import evidence_command
from handlers.freeze import calendar_command, freeze_command, unfreeze_command
from handlers.insights import metrics_command
from handlers.pull_requests import github_command, link_command
from handlers.review import open_proposal
from handlers.security import override_security


def register(app: AsyncApp, ctx: Context) -> None:
    @app.command("/change")
    async def change_command(ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        words = command.get("text", "").split()
        name = words[0].lower() if words else "help"
        handler = SUBCOMMANDS.get(name)
        if handler is None:
            await ack(**help_message(unknown=" ".join(words) if name != "help" else None))
            return
        await handler(ctx, ack, respond, command, words[1:])


async def _list(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict, args) -> None:
    what = " ".join(args).lower()
    if what == "overdue":
        await list_overdue(ctx, ack, respond, command)
        return
    if what:
        await ack(text=f"I don't know `/change list {' '.join(args)}`. Try `/change list` "
                  "(open changes) or `/change list overdue` (overdue retrospectives).",
                  response_type="ephemeral")
        return
    await ack()
    viewer = command["user_id"]

    async def work() -> None:
        changes = await queries.open_changes(ctx, viewer)
        await respond(**list_message(changes, viewer))

    ctx.background.spawn(work(), name="change list")


async def _show(ctx: Context, ack: AsyncAck, respond: AsyncRespond, _command, args) -> None:
    try:
        change_id = parse_change_id(args[0] if args else "")
    except ValueError as exc:
        await ack(text=f"{exc} Try `/change show CHG-12`.", response_type="ephemeral")
        return
    await ack()

    async def work() -> None:
        found = await queries.change_with_history(ctx, change_id)
        if found is None:
            await respond(text=f"There is no CHG-{change_id}.", response_type="ephemeral")
            return
        await respond(**show_message(*found))

    ctx.background.spawn(work(), name="change show")


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
