"""The proposal form's planned time, checked as it is chosen: a warning right under the
field when a deploy would be refused then (a freeze, outside business hours) or the time has
passed. A warning, not a refusal: the form is submitted as it is.

The planned-time input dispatches each choice at once (`dispatch_action`); the form is then
updated in place (views.update), which keeps what the person typed in its other fields."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.errors import SlackApiError

from bot.context import Context
from bot.proposal.views import shows_warning, with_planned_warning
from bot.schedule.planned import form_warnings
from bot.slack.forms import chosen_value
from bot.slack.payloads import Choice

# The newest choice seen of each open form (its action_ts): an older one, handled late,
# must not write over it.
NEWEST = "planned_time_choices"
REMEMBERED = 1000


def _newest(ctx: Context) -> dict[str, float]:
    newest: dict[str, float] = ctx.cache.setdefault(NEWEST, {})
    if len(newest) > REMEMBERED:  # forms are open for minutes: forget the oldest half
        for view_id in list(newest)[: REMEMBERED // 2]:
            del newest[view_id]
    return newest


async def warn(ctx: Context, choice: Choice) -> None:
    """Show (or take away) the warning under the planned time just chosen."""
    view_id = choice.who.view_id or ""
    try:
        chosen = chosen_value(choice.action)
    except ValueError:
        chosen = None
    at = chosen if isinstance(chosen, datetime) else None
    newest = _newest(ctx)
    seen_before = view_id in newest
    if newest.get(view_id, -1.0) > choice.action_ts:
        return
    newest[view_id] = choice.action_ts
    warnings = await form_warnings(ctx, at)
    if newest.get(view_id) != choice.action_ts:
        return  # the person chose again meanwhile: that choice says what to show
    # The form as Slack sent it is out of date once an earlier choice updated it.
    if not seen_before and shows_warning(choice.view, warnings):
        return
    update = with_planned_warning(choice.view, warnings)
    try:
        await ctx.slack.views_update(view_id=view_id, hash=choice.view_hash, view=update)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise
        if newest.get(view_id) == choice.action_ts:
            # Our own update for an earlier choice changed the form's hash; this is newer.
            await ctx.slack.views_update(view_id=view_id, view=update)
