"""Step 2 in Slack: `/change link`, `/change github` and the card's Refresh button."""

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.context import Context
from bot.github import accounts, linking
from bot.github.client import parse_pr_url
from bot.github.views import REFRESH_ACTION
from bot.slack import payloads
from bot.slack.payloads import Click
from handlers.common import after_ack, command_who, on_change_click, tell

LINK_USAGE = "`/change link CHG-12 https://github.com/OWNER/REPO/pull/NUMBER`"


async def link_command(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                       args: list[str]) -> None:
    if len(args) != 2:
        await ack(text=f"Give the change and the pull request: {LINK_USAGE}",
                  response_type="ephemeral")
        return
    try:
        change_id = payloads.change_ref(args[0])
        parse_pr_url(args[1])
    except ValueError as exc:
        await ack(text=f"{exc} Try {LINK_USAGE}", response_type="ephemeral")
        return
    await ack()
    who = command_who(command)

    async def work() -> None:
        outcome = await linking.link(ctx, change_id, who.user, args[1])
        await respond(text=outcome.message, response_type="ephemeral")

    after_ack(ctx, who, respond, work(), "link pull request")


async def github_command(ctx: Context, ack: AsyncAck, respond: AsyncRespond, command: dict,
                         args: list[str]) -> None:
    if len(args) != 1:
        await ack(text="Say which GitHub login is yours: `/change github octocat`",
                  response_type="ephemeral")
        return
    try:
        accounts.parse_login(args[0])
    except ValueError as exc:
        await ack(text=str(exc), response_type="ephemeral")
        return
    await ack()
    who = command_who(command)

    async def work() -> None:
        linked = await accounts.link_login(ctx, who.user, args[0])
        await respond(text=linked.message, response_type="ephemeral")

    after_ack(ctx, who, respond, work(), "link github login")


def register(app: AsyncApp, ctx: Context) -> None:
    @app.action(REFRESH_ACTION)
    async def on_refresh(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()

        async def work(who: Click, change_id: int) -> None:
            await refresh(ctx, who, respond, change_id)

        await on_change_click(ctx, body, respond, work, "refresh from github")


async def refresh(ctx: Context, who: Click, respond: AsyncRespond | None,
                  change_id: int) -> None:
    """Refresh from GitHub (a button on older cards, the overflow menu now)."""
    outcome = await linking.refresh(ctx, change_id)
    await tell(ctx, who, respond, outcome.message)
