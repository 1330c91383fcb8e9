"""Steps 5–8, what they share: each use case is one transaction on the locked change, like
those of bot.change.actions. It checks the rule (bot.deployment.rules), records the step
and moves the status with its audit event (bot.change.transition), then runs what follows
(bot.flows.deployment). A refused step returns why and writes nothing.

The steps themselves, in the order of the process: bot.deployment.staging (Step 5),
production (Step 6), monitoring and verification (Step 7), rollback (Step 8).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from slack_sdk.models.views import View

from bot.change.decisions import Decision
from bot.change.facts import ChangeFacts
from bot.change.work import Loaded, NoSuchChange, Outcome, editing
from bot.context import Context
from bot.slack import directory

UNKNOWN_DEPLOYER = ("I couldn't check with Slack whether you are in the deployers group. "
                    "Nothing was recorded; please try again in a minute.")


@dataclass(frozen=True)
class StepOutcome(Outcome):
    """An Outcome that may carry the modal to open, or the modal field a refusal is about."""

    view: View | None = None
    field: str | None = None


def refused(message: str, field: str | None = None) -> StepOutcome:
    return StepOutcome(False, message, field=field)


Act = Callable[[Loaded, bool], Awaitable[StepOutcome]]
D = TypeVar("D", bound=Decision)


async def is_deployer(ctx: Context, user: str) -> bool | None:
    """In the policy's deployers group? None when Slack could not say."""
    group = ctx.policy.groups.deployers
    if not group:
        return False
    try:
        return await directory.is_member(ctx, group, user)
    except directory.DirectoryUnavailable:
        return None


async def on_change(ctx: Context, change_id: int, user: str, act: Act) -> StepOutcome:
    """Run one step on the locked change; kick the sweeper when something was recorded."""
    deployer = await is_deployer(ctx, user)
    try:
        async with editing(ctx, change_id) as loaded:
            if deployer is None and user != loaded.change.author_id:
                return refused(UNKNOWN_DEPLOYER)
            outcome = await act(loaded, bool(deployer))
    except NoSuchChange as missing:
        return refused(str(missing))
    if outcome.ok and outcome.view is None:
        ctx.sweeper.kick()
    return outcome


async def open_form(ctx: Context, change_id: int, user: str,
                    rule: Callable[[ChangeFacts, bool], D], modal: Callable[[Loaded], View],
                    refusal: Callable[[D], str] | None = None) -> StepOutcome:
    """Pressing a step's button: why not, by the step's rule (given the facts and whether the
    user is a deployer; said by `refusal`, else its reason), or else the step's modal."""
    async def act(loaded: Loaded, deployer: bool) -> StepOutcome:
        decision = rule(loaded.facts, deployer)
        if not decision:
            return refused(refusal(decision) if refusal else decision.reason)
        return StepOutcome(True, "", view=modal(loaded))

    return await on_change(ctx, change_id, user, act)


def validation_text(checks: Collection[str], labels: dict[str, str]) -> str:
    return ", ".join(labels[c].lower() for c in labels if c in checks) or "nothing ticked"
