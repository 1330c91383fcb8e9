"""A stored change read as `Planned`, and the changes it conflicts with (for its card)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.states import Category, Status
from bot.context import Context
from bot.deployment.business_hours import describe, is_business_time
from bot.policy import Policy
from bot.schedule.conflicts import NOT_SHIPPING, Planned, conflicts_of, service_of
from bot.schedule.declared import declared_freezes
from bot.schedule.freeze import Freeze, freeze_at
from bot.slack.text import escape, slack_date
from storage import calendar_store
from storage.calendar_store import CalendarRow
from storage.models import Change


def card_link(change: CalendarRow) -> str | None:
    """A link to the change's card in Slack, once it is posted."""
    if not change.card_channel or not change.card_ts:
        return None
    return (f"https://slack.com/archives/{change.card_channel}/"
            f"p{change.card_ts.replace('.', '')}")


def planned(change: CalendarRow) -> Planned:
    return Planned(change.id or 0, change.title, change.author_id, Status(change.status),
                   service_of(change.pr_repo, change.pr_url, named=change.service),
                   change.planned_at,
                   change.deployed_at, card_link(change))


async def conflicting(session: AsyncSession, policy: Policy, change: Change
                      ) -> list[tuple[Planned, Change]]:
    """The changes planned on the same service within the conflict window of `change`."""
    if change.planned_at is None:
        return []
    window = policy.calendar.conflict_window
    near = await calendar_store.planned_between(session, change.planned_at - window,
                                                change.planned_at + window)
    rows = {row.id: row for row in near}
    found = conflicts_of(planned(change), [planned(row) for row in near], window)
    return [(other, rows[other.change_id]) for other in found]


def _refused_then(policy: Policy, freezes: Sequence[Freeze], at: datetime
                  ) -> tuple[Freeze | None, bool]:
    """Why a deploy at `at` would be refused: the freeze it falls in, and whether it is
    outside business hours."""
    return freeze_at(policy, freezes, at), not is_business_time(policy.business_hours, at)


def planned_time_notes(policy: Policy, freezes: Sequence[Freeze], change: Change) -> list[str]:
    """A warning on the card when the planned time falls in a freeze or outside business
    hours (the deploy would be refused then); not a refusal of the plan."""
    if change.planned_at is None or change.deployed_at is not None:
        return []
    if Status(change.status) in NOT_SHIPPING or change.category == Category.emergency.value:
        return []
    notes = []
    holding, outside = _refused_then(policy, freezes, change.planned_at)
    if holding is not None:
        notes.append(f":snowflake: Planned inside the freeze {escape(holding.said)}: the "
                     "deploy will be refused then. Plan it around the freeze.")
    if outside:
        notes.append(f":crescent_moon: Planned outside business hours "
                     f"({describe(policy.business_hours)}): the deploy will be refused then.")
    return notes


def planned_time_warnings(policy: Policy, freezes: Sequence[Freeze], at: datetime | None,
                          now: datetime) -> list[str]:
    """What the form says under the planned time it was given: a time that has passed, or
    one at which the deploy would be refused. A warning, not a refusal of the plan."""
    if at is None:
        return []
    local = at.astimezone(policy.business_hours.zone)
    when = (f"<!date^{int(at.timestamp())}^{{date_long_pretty}} {{time}}|"
            f"{local:%A %d %B %H:%M} {policy.business_hours.timezone}>")
    if at <= now:
        return [f":warning: {when} has passed: pick a time in the future."]
    refused = "deploying then will be refused unless it is an emergency."
    warnings = []
    holding, outside = _refused_then(policy, freezes, at)
    if holding is not None:
        reason = f" ({escape(holding.reason)})" if holding.reason else ""
        warnings.append(f":warning: {when} falls in the freeze *{escape(holding.name)}*"
                        f"{reason} — {refused}")
    if outside:
        warnings.append(f":warning: {when} is outside business hours "
                        f"({describe(policy.business_hours)}) — {refused}")
    return warnings


async def form_warnings(ctx: Context, at: datetime | None) -> list[str]:
    """`planned_time_warnings` against the policy's freezes and those declared in Slack."""
    if at is None:
        return []
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        freezes = await declared_freezes(session, now)
    return planned_time_warnings(ctx.policy, freezes, at, now)


def conflict_notes(conflicts: Sequence[Planned]) -> list[str]:
    """The card's lines about conflicts, each with a link to the other change's card."""
    notes = []
    for other in conflicts:
        name = f"<{other.card}|{other.name}>" if other.card else other.name
        when = slack_date(other.planned_at) if other.planned_at else "the same time"
        notes.append(f":warning: *Conflict*: {name} ({escape(other.title)}) is planned on "
                     f"`{other.service}` at {when}, too close to this one: agree on an order "
                     "with its author.")
    return notes
