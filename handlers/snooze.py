""""Snooze 30 min / 1 h" under a reminder (bot.runtime.snooze, bot.flows.snooze)."""

from slack_bolt.async_app import AsyncApp

from bot.context import Context
from bot.deployment.steps import StepOutcome
from bot.flows.snooze import snooze
from bot.runtime.snooze import FAMILIES, MINUTES, action_id
from handlers.common import step_button


def _step(family: str, minutes: int):
    async def step(ctx: Context, change_id: int, user: str) -> StepOutcome:
        return await snooze(ctx, change_id, user, family, minutes)
    return step


def register(app: AsyncApp, ctx: Context) -> None:
    for family in FAMILIES:
        for minutes in MINUTES:
            step_button(app, ctx, action_id(family, minutes), _step(family, minutes),
                        f"snooze {family} reminder")
