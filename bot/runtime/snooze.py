"""Snooze a reminder: "Snooze 30 min / 1 h" under the review reminder, the security team's
reminder and the window-end DM.

A snooze asks for the same reminder again later; it never moves the escalation that follows
it (the thread note, the overdue chase): the reminder comes back at the escalation's time at
the latest, and the escalation says who snoozed. The use case is bot.flows.snooze.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.slack.text import slack_date, user

# Which reminder is snoozed: "review" (a requested reviewer's reminder), "security" (the
# security team's reminder, for one member), "window" (the DM at the end of the monitoring
# window).
FAMILIES = ("review", "security", "window")
MINUTES = (30, 60)
LABELS = {30: "Snooze 30 min", 60: "Snooze 1 h"}


def action_id(family: str, minutes: int) -> str:
    return f"reminder_snooze_{family}_{minutes}"


def snooze_actions(family: str, change_id: int) -> ActionsBlock:
    return ActionsBlock(block_id=f"snooze_{family}", elements=[
        ButtonElement(action_id=action_id(family, minutes), text=LABELS[minutes],
                      value=str(change_id))
        for minutes in MINUTES
    ])


@dataclass(frozen=True)
class SnoozeDecision:
    until: datetime | None  # None: refused
    capped: bool = False  # it would have gone past the escalation


def snooze_until(now: datetime, minutes: int, escalation_due: datetime | None
                 ) -> SnoozeDecision:
    """When the snoozed reminder comes back: in `minutes`, never after the escalation. None
    when the escalation is due already (or gone): snoozing would only hide it."""
    if escalation_due is None or escalation_due <= now:
        return SnoozeDecision(None)
    wanted = now + timedelta(minutes=minutes)
    if wanted >= escalation_due:
        return SnoozeDecision(escalation_due, capped=True)
    return SnoozeDecision(wanted)


def snoozed_note(snoozes: list[dict]) -> str:
    """What the escalation adds: " (snoozed by @bob until 11:30, …)", or nothing."""
    if not snoozes:
        return ""
    said = ", ".join(
        f"by {user(s.get('by'))} until {slack_date(datetime.fromisoformat(s['until']))}"
        for s in snoozes if s.get("until")
    )
    return f" The reminder was snoozed {said}."
