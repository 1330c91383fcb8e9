"""Step 2 in Slack: `/change link`, `/change github` and the card's Refresh button."""

from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.context import Context
from bot.github import accounts, linking
from bot.github.client import parse_pr_url
from bot.github.views import REFRESH_ACTION
from bot.slack import payloads
from bot.slack.payloads import Click
from handlers.common import answer_after_ack, change_button, ephemeral, tell

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

    async def answer(user: str) -> dict:
        return ephemeral((await linking.link(ctx, change_id, user, args[1])).message)

    await answer_after_ack(ctx, ack, respond, command, answer, "link pull request")


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

    async def answer(user: str) -> dict:
        return ephemeral((await accounts.link_login(ctx, user, args[0])).message)

    await answer_after_ack(ctx, ack, respond, command, answer, "link github login")


def register(app: AsyncApp, ctx: Context) -> None:
    change_button(app, ctx, REFRESH_ACTION, "refresh from github", partial(refresh, ctx))


async def refresh(ctx: Context, who: Click, respond: AsyncRespond | None,
                  change_id: int) -> None:
    """Refresh from GitHub (a button on older cards, the overflow menu now)."""
    outcome = await linking.refresh(ctx, change_id)
    await tell(ctx, who, respond, outcome.message)
