"""The proposal form's planned time, checked as it is chosen: a warning right under the
field when a deploy would be refused then (a freeze, outside business hours) or the time has
passed. A warning, not a refusal: the form is submitted as it is.

The planned-time input dispatches each choice at once (`dispatch_action`); the form is then
updated in place (views.update), which keeps what the person typed in its other fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError

from bot.context import Context
from bot.proposal.views import shown_warning, with_planned_warning
from bot.schedule.planned import form_warnings
from bot.slack.forms import chosen_value
from bot.slack.payloads import Choice

FORMS = "planned_time_forms"
REMEMBERED = 1000


@dataclass
class _Form:
    """What this process knows of an open form: its newest choice (action_ts), and the
    warning it last showed under it. An older choice, handled late, must not write over a
    newer one; and once the form was updated, the copy a later event carries is stale."""

    newest: float
    shown: str


def _forms(ctx: Context) -> dict[str, _Form]:
    forms: dict[str, _Form] = ctx.cache.setdefault(FORMS, {})
    if len(forms) > REMEMBERED:  # a form is open for minutes: forget the oldest half
        for view_id in list(forms)[: REMEMBERED // 2]:
            del forms[view_id]
    return forms


async def warn(ctx: Context, choice: Choice) -> None:
    """Show (or take away) the warning under the planned time just chosen."""
    view_id = choice.who.view_id or ""
    try:
        chosen = chosen_value(choice.action)
    except ValueError:
        chosen = None
    forms = _forms(ctx)
    form = forms.get(view_id)
    if form is not None and form.newest > choice.action_ts:
        return
    if form is None:
        form = forms[view_id] = _Form(choice.action_ts, shown_warning(choice.view))
    form.newest = choice.action_ts
    warnings = await form_warnings(ctx, chosen if isinstance(chosen, datetime) else None)
    said = "\n".join(warnings)
    if form.newest != choice.action_ts or said == form.shown:
        return  # chosen again meanwhile (that choice decides), or it says so already
    update = with_planned_warning(choice.view, warnings)
    try:
        await ctx.slack.views_update(view_id=view_id, hash=choice.view_hash, view=update)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise
        if form.newest != choice.action_ts:
            return
        # Our own update for an earlier choice changed the form's hash; this one is newer.
        await ctx.slack.views_update(view_id=view_id, view=update)
    form.shown = said
